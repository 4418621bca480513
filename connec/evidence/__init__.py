"""The municipality's evidence report: what connec changes for lonely people.

``stats`` holds the statistics (pure), ``suppression`` hides every group of fewer
than five people and whatever would give one away, ``records`` reads connec's own
tables (never a conversation), ``report`` puts the figures together for one
municipality, ``export`` writes them as CSV, and ``demo`` makes a made-up population
to look at. The portal shows the report; nothing here knows a web page.
"""
