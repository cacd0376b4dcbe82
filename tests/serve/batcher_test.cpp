// The batcher's waiting policy (byteformer/serve/batcher.h) on the fixture model: a lone request
// leaves at once however long --max-queue-delay-ms is; an open batch waits for a request on its
// way (an Arrival) and takes it in; the delay still bounds that wait. Batch sizes are read from
// the metrics the batcher keeps. Every wait is bounded.
#include "byteformer/serve/batcher.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "test_util.h"

namespace byteformer {
namespace {

const std::string kDir = test::fixtures_dir() + "/corenet-tiny-k8-w32";

Classifier open_fixture() {
  ClassifierOptions o;
  o.model.config_path = kDir + "/config.yaml";
  o.model.weights = kDir + "/model.pt";
  o.model.numerics = Numerics::kMasked;
  o.top_k = 1000;
  o.max_batch_size = 8;
  return Classifier::open(o);
}

ModelInput fixture_input(const Classifier& clf, const std::string& file) {
  return clf.prepare(test::read_bytes(kDir + "/inputs/" + file), file, /*raw=*/true);
}

// "byteformer_batch_size_count N" and "_sum M" from the metrics text.
std::string batch_sizes(const ServeMetrics& m) {
  const std::string text = m.prometheus();
  std::string out;
  for (const char* key : {"byteformer_batch_size_count ", "byteformer_batch_size_sum "}) {
    const auto at = text.find(key);
    if (at == std::string::npos) return "no " + std::string(key) + "in:\n" + text;
    out += text.substr(at, text.find('\n', at) - at) + "; ";
  }
  return out;
}

constexpr auto kLongEnough = std::chrono::seconds(60);  // far beyond a fixture forward pass

TEST(Batcher, ALoneRequestDoesNotWaitForTheDelay) {
  const Classifier clf = open_fixture();
  ServeMetrics metrics;
  BatcherOptions o;
  o.max_queue_delay_ms = 1e9;  // were the delay waited for, the answer would never come
  Batcher b(clf, o, &metrics);
  auto answer = b.submit(fixture_input(clf, "img0_32px.jpg"), true);
  ASSERT_EQ(answer.wait_for(kLongEnough), std::future_status::ready);
  const Classification c = answer.get();
  ASSERT_TRUE(c.ok()) << c.error;
  const auto alone = clf.classify(test::read_bytes(kDir + "/inputs/img0_32px.jpg"), "img0_32px.jpg", true);
  ASSERT_EQ(c.logits.size(), alone.logits.size());
  for (size_t i = 0; i < alone.logits.size(); ++i) EXPECT_NEAR(c.logits[i], alone.logits[i], 1e-5) << i;
  EXPECT_EQ(batch_sizes(metrics), "byteformer_batch_size_count 1; byteformer_batch_size_sum 1; ");
}

TEST(Batcher, AnOpenBatchWaitsForARequestOnItsWay) {
  const Classifier clf = open_fixture();
  ServeMetrics metrics;
  BatcherOptions o;
  o.max_queue_delay_ms = 1e9;
  Batcher b(clf, o, &metrics);
  Batcher::Arrival second = b.arrive();  // a request whose input is still being prepared
  auto first = b.submit(fixture_input(clf, "img0_32px.jpg"), true);
  // Held for the second request (the delay is for ever): not answered while it is on its way.
  EXPECT_EQ(first.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout);
  auto answer2 = b.submit(fixture_input(clf, "img1_40px.png"), true);
  second.release();
  ASSERT_EQ(first.wait_for(kLongEnough), std::future_status::ready);
  ASSERT_EQ(answer2.wait_for(kLongEnough), std::future_status::ready);
  EXPECT_TRUE(first.get().ok());
  EXPECT_TRUE(answer2.get().ok());
  EXPECT_EQ(batch_sizes(metrics), "byteformer_batch_size_count 1; byteformer_batch_size_sum 2; ");
}

TEST(Batcher, TheDelayBoundsTheWaitForARequestThatDoesNotCome) {
  const Classifier clf = open_fixture();
  ServeMetrics metrics;
  BatcherOptions o;
  o.max_queue_delay_ms = 50;
  Batcher b(clf, o, &metrics);
  Batcher::Arrival never = b.arrive();  // held to the end of the test
  auto answer = b.submit(fixture_input(clf, "tone0.wav"), true);
  ASSERT_EQ(answer.wait_for(kLongEnough), std::future_status::ready);
  EXPECT_TRUE(answer.get().ok());
  // A full batch leaves without waiting for the delay either.
  BatcherOptions full;
  full.max_queue_delay_ms = 1e9;
  full.max_batch_size = 2;
  ServeMetrics metrics2;
  Batcher b2(clf, full, &metrics2);
  Batcher::Arrival third = b2.arrive();
  auto a1 = b2.submit(fixture_input(clf, "img0_32px.jpg"), true);
  auto a2 = b2.submit(fixture_input(clf, "img2_48px.tiff"), true);
  ASSERT_EQ(a1.wait_for(kLongEnough), std::future_status::ready);
  ASSERT_EQ(a2.wait_for(kLongEnough), std::future_status::ready);
  EXPECT_EQ(batch_sizes(metrics2), "byteformer_batch_size_count 1; byteformer_batch_size_sum 2; ");
}

TEST(Batcher, UnderLoadTheNextBatchWaitsForRequestsNotYetArrived) {
  const Classifier clf = open_fixture();
  ServeMetrics metrics;
  BatcherOptions o;
  o.max_queue_delay_ms = 1e9;
  o.max_batch_size = 2;
  o.start_paused = true;
  Batcher b(clf, o, &metrics);
  auto a1 = b.submit(fixture_input(clf, "img0_32px.jpg"), true);
  auto a2 = b.submit(fixture_input(clf, "img1_40px.png"), true);
  b.start();  // a full batch of two: the batcher is under load now
  ASSERT_EQ(a1.wait_for(kLongEnough), std::future_status::ready);
  ASSERT_EQ(a2.wait_for(kLongEnough), std::future_status::ready);
  // No Arrival is held, yet the next request waits for a second one (the delay is for ever) ...
  auto a3 = b.submit(fixture_input(clf, "img2_48px.tiff"), true);
  EXPECT_EQ(a3.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout);
  auto a4 = b.submit(fixture_input(clf, "tone0.wav"), true);
  ASSERT_EQ(a3.wait_for(kLongEnough), std::future_status::ready);
  ASSERT_EQ(a4.wait_for(kLongEnough), std::future_status::ready);
  EXPECT_TRUE(a3.get().ok());
  EXPECT_TRUE(a4.get().ok());
  EXPECT_EQ(batch_sizes(metrics), "byteformer_batch_size_count 2; byteformer_batch_size_sum 4; ");
}

TEST(Batcher, ArrivalsReleaseOnceWhenMovedOrDestroyed) {
  const Classifier clf = open_fixture();
  ServeMetrics metrics;
  BatcherOptions o;
  o.max_queue_delay_ms = 1e9;
  Batcher b(clf, o, &metrics);
  {
    Batcher::Arrival a = b.arrive();
    Batcher::Arrival moved = std::move(a);
    a.release();  // moved from: releases nothing
    Batcher::Arrival other = b.arrive();
    other = std::move(moved);  // releases `other`'s own arrival, keeps the moved one
  }  // and this releases the last: none is on its way now, so a lone request leaves at once
  auto answer = b.submit(fixture_input(clf, "img0_32px.jpg"), true);
  ASSERT_EQ(answer.wait_for(kLongEnough), std::future_status::ready);
  EXPECT_TRUE(answer.get().ok());
}

}  // namespace
}  // namespace byteformer
