"""`lienzo bench` and `lienzo bench --contention` run end to end (one repeat): every figure is there and sane.
Their values are benchmark figures (docs/BENCHMARKS.md), never asserted against a time here."""

from hub.bench import run_bench, run_contention


def test_the_bench_reports_every_figure_in_one_run(settings):
    report = run_bench(settings, repeats=1, steps=4)
    for key in (
        "hub_overhead_ratio",
        "hub_overhead_ratio_of_medians",
        "time_to_first_progress_s",
        "time_to_first_preview_s",
        "live_last_request_to_grid_s",
        "live_last_keystroke_to_grid_s",
        "cold_start_to_first_grid_s",
        "peak_rss_mib",
    ):
        assert report[key] > 0, key
    assert report["live_last_keystroke_to_grid_s"] >= report["live_last_request_to_grid_s"]  # the pause is in it
    assert report["draft"]["grid_s"] > 0 and report["draft"]["full_grid_s"] > 0
    assert report["draft"]["settings"]["decoder_steps"] > 0
    assert report["batching"]["gain_ratio"] > 0 and report["batching"]["rounds"] >= 1
    unet = report["batching"]["decoder_unet_alone"]
    assert unet["rows_one_job"] == 8 and unet["one_job_ms"] > 0 and unet["four_jobs_gflop_per_s"] > 0


def test_contention_runs_quiet_and_loaded_under_both_policies_and_leaves_no_process(settings):
    import psutil

    before = {p.pid for p in psutil.Process().children(recursive=True)}
    report = run_contention(settings, repeats=1, steps=2)
    assert set(report) >= {"thread_policy", "fixed_threads"}
    for policy in ("thread_policy", "fixed_threads"):
        assert report[policy]["quiet_s"] > 0 and report[policy]["loaded_s"] > 0
    assert {p.pid for p in psutil.Process().children(recursive=True)} <= before  # the busy process is gone
