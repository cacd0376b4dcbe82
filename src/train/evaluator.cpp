#include "byteformer/train/evaluator.h"

#include "byteformer/train/autocast.h"
#include "byteformer/train/progress.h"

namespace byteformer {

EvalResult evaluate(ByteFormer& model, DataLoader& loader, std::vector<std::vector<int64_t>> batches,
                    const EvalOptions& options) {
  EvalResult r;
  r.confusion = ConfusionMatrix(model->options().n_classes);
  const bool was_training = model->is_training();
  model->eval();
  const int64_t total = static_cast<int64_t>(batches.size());
  loader.start(std::move(batches), /*epoch=*/0);
  ProgressBar bar(options.progress, options.label, total, options.progress && stderr_is_terminal(), options.log_every);
  {
    torch::InferenceMode guard;
    int64_t done = 0;
    while (auto batch = loader.next()) {
      ++done;
      r.errors.insert(r.errors.end(), batch->errors.begin(), batch->errors.end());
      r.metrics.skipped += static_cast<int64_t>(batch->errors.size());
      if (batch->size() == 0) continue;
      torch::Tensor logits;  // (B, K)
      {
        AutocastGuard autocast(options.mixed_precision);
        logits = model->forward(batch->bytes);
      }
      logits = logits.to(torch::kFloat32);
      const double loss = classification_loss(logits, batch->labels, torch::Tensor(), 0.0).item<double>();
      r.metrics.add(logits, batch->labels, loss);
      r.confusion.add(logits, batch->labels);
      bar.update(done, r.metrics.samples, r.metrics.loss());
    }
  }
  bar.finish();
  r.seconds = bar.elapsed_s();
  r.samples_per_s = r.seconds > 0 ? static_cast<double>(r.metrics.samples) / r.seconds : 0.0;
  if (was_training) model->train();
  return r;
}

}  // namespace byteformer
