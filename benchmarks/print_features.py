"""What each print feature costs per booklet, against the default booklet, side by side.

    python benchmarks/print_features.py --members 6 --rounds 3 [--profile FILE.icc]

renders the first ``--members`` members of the bundled example (``profiles/``) in one process, each
way in turn (round robin, so the machine's changes of speed fall on every way alike), ``--rounds``
times, after one warm-up booklet each way (which renders its shared parts):

* ``default``: the booklet as ``packgen build`` writes it with the default config;
* ``bleed+marks``: ``page: bleed: 3mm, crop_marks: true`` (marks drawn after composing);
* ``pdf/x-4``: ``pdf_variant: pdf/x-4`` with ``--profile`` (default: a 1 KB header-only profile;
  a real press profile is 0.2–2 MB, embedded in every file, which costs its compression);
* ``large``: the same member's large-print edition (56 pages instead of 37–38);
* ``digital``: the member's digital edition (``Renderer.digital``: whole render, PDF/UA-1);
* ``impose``: the default booklet imposed for a duplex printer (``impose_saddle``).

Prints, per way, the median wall and CPU time of a booklet (ms) and the difference to ``default``;
then the finishing steps alone (``Prepress.booklet``) on one default booklet's bytes, which a
loaded machine's noise in whole booklets can hide.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def header_profile(path: Path) -> Path:
    """The smallest ICC header of a CMYK printer profile with a description."""
    text = b"Benchmark CMYK\0"
    desc = b"desc\0\0\0\0" + struct.pack(">I", len(text)) + text + b"\0" * 79
    table = struct.pack(">I4sII", 1, b"desc", 144, len(desc))
    header = struct.pack(">I4sI4s4s4s12s4s", 144 + len(desc), b"none", 0x02100000, b"prtr", b"CMYK", b"Lab ",
                         b"\0" * 12, b"acsp")  # fmt: skip
    path.write_bytes(header.ljust(128, b"\0") + table + desc)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", type=Path, help="a CMYK ICC profile for pdf/x-4")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from packgen.build import read_and_assign
    from packgen.config import load_config
    from packgen.content.plans import booklet_content
    from packgen.outputs.impose import impose_saddle
    from packgen.render import Renderer
    from packgen.render.prepress import Prepress
    from packgen.render.printmarks import MM

    scratch = Path(tempfile.mkdtemp(prefix="packgen-print-bench-"))
    profile = args.profile.resolve() if args.profile else header_profile(scratch / "press.icc")
    config = load_config(workspace=ROOT)
    page = config.page
    shop = config.model_copy(update={"page": page.model_copy(update={"bleed": "3mm", "crop_marks": True})})
    pdfx = config.model_copy(
        update={"page": page.model_copy(update={"pdf_variant": "pdf/x-4", "output_profile": str(profile)})}
    )
    _, assigned = read_and_assign(config, [ROOT / "profiles"])
    plans: dict[str, list] = {}
    for member, assignment in assigned:
        plans.setdefault(assignment.plan, []).append((member, assignment))
    chosen = [pair for group in zip(*plans.values(), strict=False) for pair in group][: args.members]
    standard = [(m, dataclasses.replace(a, edition="standard")) for m, a in chosen]
    large = [(m, dataclasses.replace(a, edition="large")) for m, a in chosen]
    default, marks, variant = Renderer(config), Renderer(shop), Renderer(pdfx)
    digital = Renderer(config)
    imposed = scratch / "imposed.pdf"

    def impose(index: int) -> bytes:
        source = scratch / "booklet.pdf"
        data = default.pdf(booklet_content(config, *standard[index]))
        source.write_bytes(data)
        start = time.process_time(), time.perf_counter()
        import pikepdf

        with pikepdf.open(source) as pdf:
            count = len(pdf.pages)
        impose_saddle(source, imposed, [(1, count)])
        impose.cost = (time.process_time() - start[0], time.perf_counter() - start[1])  # type: ignore[attr-defined]
        return data

    ways: dict[str, Callable[[int], bytes]] = {
        "default": lambda i: default.pdf(booklet_content(config, *standard[i])),
        "bleed+marks": lambda i: marks.pdf(booklet_content(shop, *standard[i])),
        "pdf/x-4": lambda i: variant.pdf(booklet_content(pdfx, *standard[i])),
        "large": lambda i: default.pdf(booklet_content(config, *large[i])),
        "digital": lambda i: digital.digital(booklet_content(config, *standard[i])),
        "impose": impose,
    }
    for way in ways.values():
        way(0)  # warm-up: the shared parts, fonts, stylesheets
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
    for _ in range(args.rounds):
        for index in range(len(chosen)):
            for name, way in ways.items():
                cpu, wall = time.process_time(), time.perf_counter()
                way(index)
                cost = (time.process_time() - cpu, time.perf_counter() - wall)
                times[name].append(impose.cost if name == "impose" else cost)  # type: ignore[attr-defined]
    finishing: dict[str, list[float]] = {"bleed": [], "bleed+marks": [], "pdf/x-4": []}
    booklet = default.pdf(booklet_content(config, *standard[0]))
    steps = {"bleed": Prepress(3 * MM, False), "bleed+marks": Prepress(3 * MM, True),
             "pdf/x-4": Prepress(variant="pdf/x-4", profile=profile)}  # fmt: skip
    for _ in range(5 * args.rounds):
        for name, step in steps.items():
            cpu = time.process_time()
            step.booklet(booklet)
            finishing[name].append(time.process_time() - cpu)
    base_wall = statistics.median(w for _, w in times["default"])
    base_cpu = statistics.median(c for c, _ in times["default"])
    print(
        f"{len(chosen)} members x {args.rounds} rounds, median per booklet (ms); profile {profile.stat().st_size} bytes"
    )
    print(f"{'way':<12} {'wall':>7} {'cpu':>7} {'+wall':>7} {'+cpu':>7}")
    for name, found in times.items():
        wall = statistics.median(w for _, w in found)
        cpu = statistics.median(c for c, _ in found)
        extra = (
            ""
            if name in ("default", "impose")
            else f" {1000 * (wall - base_wall):>+7.0f} {1000 * (cpu - base_cpu):>+7.0f}"
        )
        print(f"{name:<12} {1000 * wall:>7.0f} {1000 * cpu:>7.0f}{extra}")
    print("the finishing step alone on a default booklet's bytes, median CPU (ms):")
    print(
        "  " + ", ".join(f"{name} {1000 * statistics.median(found):.0f}" for name, found in finishing.items())
    )


if __name__ == "__main__":
    main()
