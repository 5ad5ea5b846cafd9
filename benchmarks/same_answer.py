"""The same file gives the same answer alone, four at once, and beside busy processes.

    python benchmarks/same_answer.py [FILE] [--hogs 2]

Runs ``python -m mer analyze --json FILE`` (default: the bundled "motion" example) once alone, then four at once,
then once beside ``--hogs`` processes that spin on a core, each as a fresh process (so each reads the machine's
kernel choice, :mod:`mer.kernels`). Prints the precision and kernel each run reports, the largest difference of
any probability, valence or arousal from the lone run, and whether the JSON is byte-identical. Before the choice
was cached per machine, four at once chose float32 in 3 of 4 runs where one alone chose int8 (0.0069 apart).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def _numbers(report: dict) -> np.ndarray:
    values = [p for s in report["segments"] for p in s["probabilities"]] + report["track"]["probabilities"]
    values += [s[k] for s in report["segments"] for k in ("valence", "arousal") if s[k] is not None]
    return np.array(values, dtype=np.float64)


def _start(path: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "mer", "analyze", "--json", str(path)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen) -> tuple[str, dict]:
    out, err = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"error: mer analyze failed: {err.strip()}")
    return out, json.loads(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=ROOT / "mer" / "resources" / "examples" / "motion.ogg")
    parser.add_argument("--hogs", type=int, default=2)
    args = parser.parse_args()
    import torch

    print(f"CPU: torch {torch.backends.cpu.get_cpu_capability()}; "
          f"VNNI/AMX flags: {open('/proc/cpuinfo').read().count('avx512_vnni') > 0}")
    alone_text, alone = _finish(_start(args.file))
    runs = {"alone": [(alone_text, alone)]}
    runs["four at once"] = [_finish(p) for p in [_start(args.file) for _ in range(4)]]
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.hogs)]
    try:
        runs[f"beside {args.hogs} busy processes"] = [_finish(_start(args.file))]
    finally:
        for h in hogs:
            h.kill()
    base = _numbers(alone)
    print("| runs | precision, kernel | largest difference from the lone run | JSON identical |\n|---|---|---|---|")
    for name, results in runs.items():
        arith = {(r["model"].get("precision"), r["model"].get("kernel")) for _, r in results}
        diff = max(float(np.max(np.abs(_numbers(r) - base))) for _, r in results)
        same = all(text == alone_text for text, _ in results)
        said = ", ".join(" ".join(x for x in pk if x) for pk in sorted(arith, key=str))
        print(f"| {name} | {said} | {diff:.1e} | {'yes' if same else 'no'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
