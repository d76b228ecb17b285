"""From a member's booklet content to PDF: Jinja templates (``templates``), the one door to
WeasyPrint (``engine``, with its shortcuts in ``accel``), shared pages rendered once (``compose``),
what a booklet may load (``fetch``) and print (``fonts``, ``checks``), and the :class:`Renderer`
that puts them together (``booklet``)."""

from packgen.render.booklet import Renderer

__all__ = ["Renderer"]
