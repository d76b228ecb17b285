"""What goes into a member's booklet: the plan's materials, schedule, links, delivery rounds and
contacts (``plans``), and one member's preview with the rules tried (``preview``)."""

from packgen.content.plans import BookletContent, booklet_content, plan_report
from packgen.content.preview import MemberPreview, member_preview

__all__ = ["BookletContent", "MemberPreview", "booklet_content", "member_preview", "plan_report"]
