"""What laying out members' own pages together would save, against one document per member.

    python benchmarks/own_pages.py --members 12 --rounds 3

A booklet's own CPU is mostly WeasyPrint laying out and writing the member's own document (cover,
letter, contacts, a stand-in page per run of shared pages; see ``packgen/render/margins.py``). This
takes the own documents of the first ``--members`` online members of the bundled example and times,
in one process, each way in turn (round robin, after one warm-up round), ``--rounds`` times:

* ``alone``: each member's own document laid out and written by itself, as ``packgen build`` does;
* ``together, written alone``: all of them laid out as one document (each member's pages after a
  page break), then each member's pages written on their own (``Document.copy``), which booklets
  that do not depend on which members they were rendered with would need;
* ``together, written together``: the same document written once, one font subset for all.

Prints the median CPU per member of laying out and of writing, each way. Only the cost is measured:
a document of several members would also need each member's running strings and counters reset,
which this does not do.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
_BODY = re.compile(r"(<body\b[^>]*>)(.*)</body>", re.DOTALL | re.IGNORECASE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from packgen.build import read_and_assign
    from packgen.config import load_config
    from packgen.content.plans import booklet_content
    from packgen.render import Renderer, compose, margins

    config = load_config(workspace=ROOT)
    _, assigned = read_and_assign(config, [ROOT / "profiles"])
    renderer = Renderer(config)
    online = [booklet_content(config, m, a) for m, a in assigned if a.plan == "online"][: args.members]
    if len(online) < 2:
        raise SystemExit("the example has fewer than two online members")
    renderer.pdf(online[0])  # fonts, stylesheets, shared parts
    engine = renderer._engine_()
    owns = []
    for content in online:
        booklet = compose.split(lambda hook, c=content: renderer._html(c, hook))
        plan = renderer._margin_plan(booklet)
        assert plan is not None, "the default template's margins split"
        parts: Any = [SimpleNamespace(pages=1)] * len(booklet.runs)  # one stand-in a run: pages unused
        owns.append(margins.own_html(booklet, parts, plan, False))
    found = [_BODY.search(html) for html in owns]
    assert all(found)
    head = owns[0][: found[0].start()]  # type: ignore[union-attr]
    bodies = "".join(
        f'<div style="break-before: page"></div>{match.group(2)}'  # type: ignore[union-attr]
        for match in found
    )
    together = f"{head}{found[0].group(1)}{bodies}</body></html>"  # type: ignore[union-attr]
    sizes = [len(engine.document(html).pages) for html in owns]

    def alone() -> tuple[float, float]:
        layout = write = 0.0
        for html in owns:
            start = time.process_time()
            document = engine.document(html)
            middle = time.process_time()
            engine.write_pdf(document)
            layout, write = layout + middle - start, write + time.process_time() - middle
        return layout, write

    def together_alone() -> tuple[float, float]:
        start = time.process_time()
        document = engine.document(together)
        middle = time.process_time()
        first = 1 if len(document.pages) > sum(sizes) else 0  # the first break's empty page
        for size in sizes:
            engine.write_pdf(document.copy(document.pages[first : first + size]))
            first += size
        return middle - start, time.process_time() - middle

    def together_together() -> tuple[float, float]:
        start = time.process_time()
        document = engine.document(together)
        middle = time.process_time()
        engine.write_pdf(document)
        return middle - start, time.process_time() - middle

    ways = {"alone": alone, "together, written alone": together_alone,
            "together, written together": together_together}  # fmt: skip
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
    for round_ in range(args.rounds + 1):
        for name, way in ways.items():
            taken = way()
            if round_:  # the first round warms up
                times[name].append(taken)
    count = len(owns)
    print(f"{count} online members, own documents of {min(sizes)}-{max(sizes)} pages; CPU per member:")
    for name, taken in times.items():
        layout = statistics.median(t[0] for t in taken) / count * 1000
        write = statistics.median(t[1] for t in taken) / count * 1000
        print(f"  {name:28} layout {layout:6.1f} ms  write {write:6.1f} ms  total {layout + write:6.1f} ms")


if __name__ == "__main__":
    main()
