"""scikit-learn side of bench/ml.ts (Debian python3-sklearn).

  export NAME OUT.csv        writes a dataset shipped with scikit-learn (no download) as CSV:
                             columns f0..f{p-1}, target
  cv DATA.csv FOLDS.csv      fits RandomForestClassifier(n_estimators=100) and
                             HistGradientBoostingClassifier() on the same rows and folds qoelab
                             used (FOLDS.csv: one fold number per row), one thread, and prints
                             JSON: accuracy over the pooled held-out predictions, summed fit time.
"""
import json
import sys
import time

import numpy as np


def export(name, out):
    from sklearn import datasets

    loader = {"breast_cancer": datasets.load_breast_cancer, "wine": datasets.load_wine, "digits": datasets.load_digits}[name]
    X, y = loader(return_X_y=True)
    with open(out, "w") as f:
        f.write(",".join([f"f{i}" for i in range(X.shape[1])] + ["target"]) + "\n")
        for row, t in zip(X, y):
            f.write(",".join(repr(float(v)) for v in row) + f",{int(t)}\n")


def cv(data_path, folds_path):
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from threadpoolctl import threadpool_limits

    data = np.genfromtxt(data_path, delimiter=",", skip_header=1)
    X, y = data[:, :-1], data[:, -1].astype(int)
    folds = np.loadtxt(folds_path, dtype=int)
    out = {}
    makers = {
        "rf": lambda: RandomForestClassifier(n_estimators=100, n_jobs=1, random_state=0),
        "gbdt": lambda: HistGradientBoostingClassifier(random_state=0),
    }
    with threadpool_limits(1):
        for name, make in makers.items():
            predicted = np.empty_like(y)
            fit_seconds = 0.0
            for f in sorted(set(folds)):
                train, test = folds != f, folds == f
                model = make()
                t0 = time.perf_counter()
                model.fit(X[train], y[train])
                fit_seconds += time.perf_counter() - t0
                predicted[test] = model.predict(X[test])
            out[name] = {"accuracy": float(np.mean(predicted == y)), "fitSeconds": fit_seconds}
    import sklearn

    out["version"] = sklearn.__version__
    print(json.dumps(out))


if __name__ == "__main__":
    if sys.argv[1] == "export":
        export(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "cv":
        cv(sys.argv[2], sys.argv[3])
    else:
        sys.exit(f"unknown command {sys.argv[1]}")
