"""packgen: personalised, print-ready study booklets for a roster of floating members.

The pipeline, one module per stage::

    readers  -> rows of cells from CSV / XLSX / YAML files
    members  -> validated, normalised Member records (with every problem located)
    rules    -> a Plan for each member, with the rule that chose it
    render   -> HTML from Jinja templates, then PDF with WeasyPrint
    build    -> many members at once: booklets, manifest, print run

The command line (``packgen.cli``) is a thin layer over these; scripts can call them directly.
"""

__version__ = "0.1.0"
