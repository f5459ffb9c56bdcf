"""The training progress bar (tqdm) as a log file sees it: one line per tenth of the run."""

import io
from contextlib import redirect_stderr

from models.makemore import progress_bar


def test_progress_bar_writes_lines_to_a_log_file():
    log = io.StringIO()  # not a terminal: no '\r' redraws, a line every 10%
    with redirect_stderr(log):
        bar = progress_bar(200, start=100)
        for step in range(100, 200):
            bar.set_postfix_str(f"loss {step / 100:.4f}", refresh=False)
            bar.update(1)
        bar.close()
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue()
    assert lines[0].startswith(" 50%") and "100/200" in lines[0]  # resumed half-way
    assert [line.split("|")[0].strip() for line in lines[1:]] == \
        ["60%", "70%", "80%", "90%", "100%"]
    assert "200/200" in lines[-1] and "loss 1.9900" in lines[-1]
