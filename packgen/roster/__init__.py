"""The roster: profile files (CSV, Excel, YAML) read into rows of cells, and rows into members.

``readers`` knows file formats and nothing of members; ``members`` maps headers to fields,
normalises values and locates every problem by file, row and column.
"""

from packgen.roster.members import Member, Problem, Roster, load_roster, member_from_mapping

__all__ = ["Member", "Problem", "Roster", "load_roster", "member_from_mapping"]
