"""``flujo-otel report``'s analysis: recordings -> series -> statistics -> a report.

Pure functions, standard library only (plots aside): ``load`` reads recordings,
``stats`` has the tests, ``limits``/``episodes``/``compare`` know thresholds and good
directions, ``report`` assembles, ``render`` writes Markdown/HTML/JSON, ``plots`` draws.
"""
