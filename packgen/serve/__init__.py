"""``packgen serve``: the plan table and any member's booklet in a browser, refreshed on every save.

:class:`LiveWorkspace` keeps the workspace loaded and takes in changed files (``workspace``);
:mod:`~packgen.serve.app` is the web page over it and :class:`LiveServer` serves it (``server``);
``pages`` turns a booklet's pages into images and lines of text for the browser.
"""

from packgen.serve.server import LiveServer
from packgen.serve.workspace import LiveWorkspace

__all__ = ["LiveServer", "LiveWorkspace"]
