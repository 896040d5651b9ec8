"""metrics.jsonl's per-step lines: formed by hand for speed, so they must stay what
json.dumps would write."""
import json
from types import SimpleNamespace

from hypothesis import given, strategies as st

from fastgan.run import MetricsLog

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@given(step=st.integers(0, 10**9), epoch=st.integers(0, 10**7), d=finite, g=finite,
       rate=st.floats(0, 1e12))
def test_step_line_is_the_json_of_its_record(tmp_path_factory, step, epoch, d, g, rate):
    path = tmp_path_factory.mktemp("log") / "metrics.jsonl"
    log = MetricsLog(str(path), keep_steps=0)
    log.write(SimpleNamespace(step=step, epoch=epoch), d, g, rate)
    log.close()
    record = {"step": step, "epoch": epoch, "d_loss": round(d, 6), "g_loss": round(g, 6),
              "images_per_s": round(rate, 1)}
    assert path.read_text() == json.dumps(record) + "\n"
