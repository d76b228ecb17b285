"""What a build writes besides the booklets: the manifest, print runs for the print shop, the
delivery list and address labels, and the plan as a workbook (``plan --export``)."""
