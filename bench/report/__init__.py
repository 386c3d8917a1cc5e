"""Reports: pure functions from run records to tables, rendered text and plots.

``frames`` turns records into one row per run and groups them; ``stats`` compares settings with their
baselines over paired seeds; ``compare`` corrects, decides and shows a table's family of comparisons; ``tables`` builds the table forms of the papers; ``render`` writes them as
markdown, LaTeX, CSV or HTML; ``plots`` draws the ratio curves; ``format`` is the one number formatter.
Writing files is the CLI's job (``bench.cli.report``). Import the submodules directly: this package
imports nothing, so a command that only formats a percentage does not load pandas.
"""
