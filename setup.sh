#!/usr/bin/env bash
# Creates the virtual environment at .venv/ and installs the project with its dev tools; on
# Debian, as root, also installs what pip cannot (Fashion-MNIST for the GANs). The extras:
# dev (tests, ruff), eval (COCO caption metrics), notebooks (SciPy, which the course's own
# notebooks import).
# --with-tensorflow also installs the TensorFlow half's extra (tensorflow-cpu, about 250 MB).
# --with-legacy-keras does too, and adds tf-keras (Keras 2, 2 MB), which TensorFlow uses for
# tf.keras when TF_USE_LEGACY_KERAS=1, so the course's 2020 TensorFlow notebooks run as written
# (README, TensorFlow). It is installed with --no-deps: its wheel requires the `tensorflow`
# distribution, which would install a second TensorFlow over tensorflow-cpu. Its version is
# TensorFlow's (pyproject.toml pins tensorflow-cpu==2.21.0; cs231n checks the match at import).
# torch==2.13.0 is installed first, by itself: on these machines pip takes the CPU build from
# local disk; a torch requirement left open would download a multi-GB CUDA build instead.
set -euo pipefail
cd "$(dirname "$0")"

TF_KERAS_VERSION=2.21.0
usage="usage: ./setup.sh [--with-tensorflow] [--with-legacy-keras]"
extras="dev,eval,notebooks"
tensorflow=0
legacy_keras=0
for arg in "$@"; do
  case "$arg" in
    --with-tensorflow) tensorflow=1 ;;
    --with-legacy-keras) tensorflow=1 legacy_keras=1 ;;
    -h | --help)
      echo "$usage"
      exit 0
      ;;
    *)
      echo "setup.sh: unknown option $arg ($usage)" >&2
      exit 2
      ;;
  esac
done
if [ "$tensorflow" = 1 ]; then extras="$extras,tensorflow"; fi

# Fashion-MNIST (the GAN part of the demo) ships as Debian's dataset-fashion-mnist. Elsewhere,
# `cs231n data download fashion-mnist` fetches it from the official mirror.
if [ -d /usr/share/datasets/fashion-mnist ]; then
  :
elif command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "Installing Debian's dataset-fashion-mnist (Fashion-MNIST for the GANs)"
  if ! (apt-get install -y -qq dataset-fashion-mnist || (apt-get update -qq &&
    apt-get install -y -qq dataset-fashion-mnist)) >/dev/null 2>&1; then
    echo "warning: could not install dataset-fashion-mnist; run \`.venv/bin/cs231n data download fashion-mnist\` instead" >&2
  fi
else
  echo "note: Fashion-MNIST (for the GANs) is not installed: on Debian run \`sudo apt-get install dataset-fashion-mnist\`, elsewhere \`.venv/bin/cs231n data download fashion-mnist\`"
fi

# The offline emoji for the diffusion job (when the course's emoji_data.npz is absent) are drawn
# from Debian's fonts-noto-color-emoji.
if [ -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ]; then
  :
elif command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "Installing Debian's fonts-noto-color-emoji (the offline emoji for diffusion)"
  if ! (apt-get install -y -qq fonts-noto-color-emoji || (apt-get update -qq &&
    apt-get install -y -qq fonts-noto-color-emoji)) >/dev/null 2>&1; then
    echo "warning: could not install fonts-noto-color-emoji; diffusion on emoji then needs the course's emoji_data.npz (\`.venv/bin/cs231n data download emoji\`)" >&2
  fi
else
  echo "note: the Noto Color Emoji font (offline emoji for diffusion) is not installed: on Debian run \`sudo apt-get install fonts-noto-color-emoji\`, elsewhere \`.venv/bin/cs231n data download emoji\` (the course's emoji_data.npz)"
fi

python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check torch==2.13.0
.venv/bin/pip install --quiet --disable-pip-version-check -e ".[$extras]"
if [ "$legacy_keras" = 1 ]; then
  .venv/bin/pip install --quiet --disable-pip-version-check --no-deps "tf-keras==$TF_KERAS_VERSION"
  # The legacy mode must work: tf.keras is tf-keras, of TensorFlow's version (checked at import).
  TF_USE_LEGACY_KERAS=1 TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/python -c \
    "from cs231n.core import tf_utils; assert tf_utils.keras_is_legacy(tf_utils.import_tensorflow())"
fi
# Nothing may replace the CPU torch (a TensorFlow dependency pulling another would).
.venv/bin/python -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"
echo "Set up .venv/ (cs231n $(.venv/bin/cs231n --version | cut -d' ' -f2), torch $(.venv/bin/python -c 'import torch; print(torch.__version__)'))"
