#pragma once
// Training a classifier on an MNIST-style split with mini-batches, and evaluating it, as Keras'
// model.fit(x, y, batch_size, epochs, shuffle=True) and model.evaluate(x, y) do for
//   model.compile(optimizer='adam', loss=SparseCategoricalCrossentropy(), metrics=['accuracy'])
//
//   Model m = keras_tutorial_cnn();
//   init_glorot_uniform(m, seed);
//   Adam opt(model_params(m));
//   std::mt19937 order(batch_order_seed(seed));
//   for (int e = 0; e < 10; ++e) train_epoch(m, opt, data.train, data.train.count, 64, order);
//   EvalResult r = evaluate(m, data.test);
//
// The loss is the fused sparse categorical cross-entropy on the logits (the model's final softmax
// left out), the mean over each batch. Results are deterministic for a seed and a thread count.
#include <cstdint>
#include <functional>
#include <random>
#include <vector>

#include "engine/idx.h"
#include "engine/model.h"
#include "engine/optim.h"

namespace convis {

// The batch order's generator is seeded apart from the weights' (init uses mt19937(seed)).
uint32_t batch_order_seed(uint32_t seed);

// A uniformly random permutation of [0, count): Fisher-Yates driven by mt19937's raw 32-bit
// outputs (not std::shuffle, whose draws differ between standard libraries).
std::vector<int64_t> shuffled_indices(int64_t count, std::mt19937& rng);

// Running figures over the epoch so far (means over the images seen), after each batch.
struct BatchReport {
  int64_t step = 0, steps = 0;  // batches done, batches in the epoch
  int64_t seen = 0;             // images done
  double loss = 0, accuracy = 0;
};

struct EpochResult {
  double loss = 0, accuracy = 0;  // means over the epoch's images, as Keras' fit prints them
  int64_t images = 0;
  double seconds = 0;
};

// One epoch over images [0, count) of `data` in a fresh random order, `batch` at a time; the
// last batch keeps the remainder (count % batch images), as Keras does. Calls on_batch after
// every step. The model's weights must require gradients (init_* gives parameters).
EpochResult train_epoch(const Model& m, Adam& opt, const MnistSplit& data, int64_t count, int batch,
                        std::mt19937& rng, const std::function<void(const BatchReport&)>& on_batch = {});

struct EvalResult {
  double loss = 0, accuracy = 0;
  int64_t count = 0;
  int classes = 0;
  std::vector<int> predicted;         // argmax per image
  std::vector<int64_t> confusion;     // (classes, classes): row = true label, column = predicted
};

// Loss and accuracy on images [0, count) (count < 0: all), without recording gradients.
EvalResult evaluate(const Model& m, const MnistSplit& data, int64_t count = -1, int batch = 500);

}  // namespace convis
