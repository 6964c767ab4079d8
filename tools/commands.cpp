// The table of vis_tool subcommands. Each entry: name, summary, help with an example, function.
#include <cstdio>
#include <string>
#include <vector>

#include "kernels/cpu.h"
#include "tools/cli.h"
#include "tools/commands.h"

namespace convis::cli {

namespace {

int run_version(const std::vector<std::string>& argv) {
  Args args("version", argv, {});
  args.allow_only({});
  std::printf("convis %s\n", CONVIS_VERSION);
  std::printf("kernels: %s, %d OpenMP thread(s)\n",
              cpu_has_avx2_fma() ? "AVX2+FMA" : "portable (no AVX2+FMA on this CPU, or CONVIS_NO_AVX2 set)",
              num_threads());
  return 0;
}

}  // namespace

const std::vector<Subcommand>& subcommands() {
  static const std::vector<Subcommand> table = {
      {"version", "print the version and which CPU kernels run here",
       "vis_tool version\n\n"
       "Prints the convis version, the kernel set chosen for this CPU (AVX2+FMA or portable) and the\n"
       "number of OpenMP threads (set OMP_NUM_THREADS to change it).\n\n"
       "example:\n  OMP_NUM_THREADS=1 vis_tool version",
       run_version},
      {"summary", "the Keras-style table of a model's layers, output shapes and parameters",
       "vis_tool summary --weights F [--input-size N]\n\n"
       "  --weights F       a Keras .h5 file (model.save(), save_weights(), keras.applications, Keras 3\n"
       "                    .weights.h5), or vgg16 / vgg16-notop for the fetched VGG16 files\n"
       "  --input-size N    input height and width for models whose size is free (default 224)\n\n"
       "example:\n  vis_tool summary --weights vgg16-notop --input-size 96",
       run_summary},
      {"init", "write a VGG16 file with random (He-normal) weights, in any Keras layout",
       "vis_tool init --arch vgg16 [--top] --layout keras1|keras2|model|keras3 --seed S --out F\n\n"
       "  --top             include flatten, fc1, fc2 and predictions (224x224 input)\n"
       "  --layout L        keras1: the keras.applications file layout (block1_conv1_W_1:0 ...)\n"
       "                    keras2: Keras 2 save_weights(); model: Keras 2 model.save() with model_config\n"
       "                    keras3: Keras 3 .weights.h5 (layers/<name>/vars/0 ...). Default keras1\n"
       "  --seed S          random seed (default 0): the same seed gives the same file\n\n"
       "example:\n  vis_tool init --arch vgg16 --top --layout keras1 --seed 1 --out /tmp/vgg16_random.h5",
       run_init},
      {"classify", "top-k ImageNet-style classes of an image",
       "vis_tool classify --weights F --image I [--top 5] [--preprocess caffe|unit|tf|torch]\n"
       "                  [--classes J] [--json]\n\n"
       "The image (PNG, JPEG, BMP, ...; grey and RGBA become RGB) is resized to the model's input\n"
       "size with a bilinear (triangle) filter and preprocessed: VGG16 defaults to Keras' caffe mode\n"
       "(RGB->BGR, minus the ImageNet means), other models to unit (x/255). Models that end in logits\n"
       "get a softmax. --classes names a Keras-style class index; by default convis looks for\n"
       "<name>_class_index.json beside the weights (and imagenet_class_index.json for VGG16).\n\n"
       "example:\n  vis_tool classify --weights ../shared/data/models/darknet_tiny_imagenet.h5 \\\n"
       "      --image ../shared/data/images/coffee.png --top 3",
       run_classify},
      {"forward", "run a model up to a layer on a .npy input, write the output as .npy",
       "vis_tool forward --weights F --input X.npy --layer L --out Y.npy\n\n"
       "X is float32 NHWC (N, H, W, C), used as given (no preprocessing). Y is the output of layer L\n"
       "after its activation. NPY v1/v2/v3, little-endian float32, C order.\n\n"
       "example:\n  vis_tool forward --weights /tmp/vgg16_random.h5 --input x.npy --layer block3_conv1 --out y.npy",
       run_forward},
      {"grad", "gradient of one filter's mean activation with respect to a .npy input",
       "vis_tool grad --weights F --input X.npy --layer L --filter K --out G.npy\n\n"
       "G = d/dX of the sum over the batch of the mean over (H, W) of channel K of layer L's output\n"
       "(after its activation; for a dense layer, of unit K). Same formats as forward.\n\n"
       "example:\n  vis_tool grad --weights /tmp/vgg16_random.h5 --input x.npy --layer block5_conv3 --filter 7 --out g.npy",
       run_grad},
  };
  return table;
}

}  // namespace convis::cli
