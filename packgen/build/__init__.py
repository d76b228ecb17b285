"""Many booklets at once: the pipeline (``pipeline``), which members (``selection``), what an
earlier build made (``incremental``), worker processes (``workers``), the output folder's lock
(``lock``) and the merge of shard builds (``merge``).

A script calls :func:`build` (and :func:`merge`) with a loaded config.
"""

from packgen.build.merge import merge
from packgen.build.options import BuildOptions, BuildResult
from packgen.build.pipeline import build, check, read_and_assign

__all__ = ["BuildOptions", "BuildResult", "build", "check", "merge", "read_and_assign"]
