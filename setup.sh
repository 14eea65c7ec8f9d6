#!/usr/bin/env bash
# Creates the virtual environment at .venv/ and installs the project with its dev tools; on
# Debian, as root, also installs what pip cannot (Fashion-MNIST for the GANs).
# --with-tensorflow also installs the TensorFlow half's extra (tensorflow-cpu, about 250 MB).
# torch==2.13.0 is installed first, by itself: on these machines pip takes the CPU build from
# local disk; a torch requirement left open would download a multi-GB CUDA build instead.
set -euo pipefail
cd "$(dirname "$0")"

extras="dev,eval"
for arg in "$@"; do
  case "$arg" in
    --with-tensorflow) extras="$extras,tensorflow" ;;
    -h | --help)
      echo "usage: ./setup.sh [--with-tensorflow]"
      exit 0
      ;;
    *)
      echo "setup.sh: unknown option $arg (usage: ./setup.sh [--with-tensorflow])" >&2
      exit 2
      ;;
  esac
done

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

python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check torch==2.13.0
.venv/bin/pip install --quiet --disable-pip-version-check -e ".[$extras]"
# Nothing may replace the CPU torch (a TensorFlow dependency pulling another would).
.venv/bin/python -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"
echo "Set up .venv/ (cs231n $(.venv/bin/cs231n --version | cut -d' ' -f2), torch $(.venv/bin/python -c 'import torch; print(torch.__version__)'))"
