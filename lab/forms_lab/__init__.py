"""forms-lab: where the scan reader is fitted and tested, beside the service, never inside it.

The service's wheel holds the shipped calibration and the code that applies it;
this package holds what makes and measures the labelled material they rest on:

* :mod:`.synth` -- synthetic respondents fill rendered pages as people do, and
  :func:`~forms_lab.synth.simulate_scan` / :mod:`.synth.batch` scan them, with the truth;
* :mod:`.degrade` -- scanner, photocopier and phone degradations with their truth;
* :mod:`.fitting` -- fitting the calibration curves and the box model
  (``benchmarks/calibrate.py`` writes ``forms_service/scan/calibration.json`` with it);
* :mod:`.measures` -- the measures the benchmarks share.

Tests and the benchmarks import it; no module of ``forms_service`` may
(``tests/unit/test_package_boundaries.py`` checks).

Must never: be used on, or mixed with, real respondents' forms; it only makes and
measures synthetic material. It writes no files and logs nothing.
"""
