"""Every protocol from one grid file: an import written here, a parameterised Defect-Gen at its smoke
profile and a baseline go through every protocol on the toy data at the smoke schedule, then
``bench report --all`` renders each protocol's table form. Tiny on purpose (one seed, one category)."""

from __future__ import annotations

from bench.cli import main
from bench.protocols.classification import CLASSIFICATION
from bench.protocols.efficiency import EFFICIENCY
from bench.protocols.quality import QUALITY
from bench.records import RecordStore
from tests.helpers.imports import tool_output

DEFECTGEN = "defectgen(u=10,profile=smoke,sampler=fast,steps=4,device=cpu)"
GRID = """sweeps:
  - protocol: synthetic-ratio
    ratios: [0, 1]
  - protocol: upsample
    fill_to: 20
  - protocol: normal-data
    normal_ratios: [0, 1]
  - protocol: benign
  - protocol: synthetic-only
    ratios: [0, 1]
  - protocol: transfer
    generators: [copy-paste(max_defects=2)]
    categories: [fabric]
    sources: [toy/wood]
    class_map: crack=thread
    normal_ratios: [0]
  - protocol: localization
    segmenters: [segformer]
    ratios: [0, 1]
  - protocol: raw-augment-enlarge
    dataset: toy
    categories: [wood]
    split: "ratio:0.65+crop:32+stride:16"
    segmenters: [segformer]
    ratios: [0, 0.1]
  - protocol: classification
  - protocol: quality
    n_generated: 6
    alignment: false
  - protocol: efficiency
    n_generated: 4
"""
# Every block's keys unless it gives its own (transfer: only a generator that puts defects on the target's pictures).
COMMON = f"""generators: [copy-paste(max_defects=2), "{DEFECTGEN}", {{name: import:generic, params: {{path: TOOL, defect_class: crack}}}}]
seeds: [0]
schedule: smoke
device: cpu
"""


def block(text: str) -> str:
    """One sweep block: its own keys, then COMMON's others (an import's folder of the block's picture size)."""
    own = {line.split(":")[0].strip() for line in text.splitlines()[1:]}
    common = COMMON.replace("TOOL", "tool-crops" if "+crop:" in text else "tool").splitlines()
    return "  - protocol: " + text + "".join(f"    {line}\n" for line in common if line.split(":")[0] not in own)


def test_one_grid_runs_every_protocol_and_the_report_renders_each_form(tmp_path, capsys, isolated_dirs, weights):
    tool_output(tmp_path / "tool")
    tool_output(tmp_path / "tool-crops", size=32)  # the crop view's images are 32 px
    blocks = GRID.split("  - protocol: ")
    # a transfer takes generators that can move defects onto another product's pictures; the others are refused up front
    refused = tmp_path / "refused.yaml"
    refused.write_text("sweeps:\n" + block("synthetic-ratio\n    ratios: [1]\n") + block(
        f"transfer\n    categories: [fabric]\n    sources: [toy/wood]\n    class_map: crack=thread\n    generators: [\"{DEFECTGEN}\"]\n"))
    assert main(["sweep", str(refused)]) == 2
    assert "cannot move defects onto another product's pictures" in capsys.readouterr().err
    assert not list(RecordStore(isolated_dirs / "results" / "runs")), "no block ran"
    grid = blocks[0] + "".join(block(b) for b in blocks[1:])
    path = tmp_path / "grid.yaml"
    path.write_text(grid)
    assert main(["sweep", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.count("protocol ") >= 10
    runs = list(RecordStore(isolated_dirs / "results" / "runs"))
    labels = {r["spec"]["generator"]["name"] for r in runs}
    assert labels == {"none", "copy-paste", "defectgen", "import:generic"}
    imported = [r for r in runs if r["spec"]["generator"]["name"] == "import:generic"]
    assert all(r["data"]["import_training"] == {"trained_on": None, "known_from": "unknown"} for r in imported)
    learned = [r for r in runs if r["spec"]["generator"]["name"] == "defectgen"]
    assert all(r["spec"]["generator"]["params"]["u"] == 10 and r["spec"]["generator"]["params"]["profile"] == "smoke" for r in learned)
    assert len(list(RecordStore(isolated_dirs / "results" / "quality", QUALITY))) == 3
    assert len(list(RecordStore(isolated_dirs / "results" / "efficiency", EFFICIENCY))) == 4
    classified = list(RecordStore(isolated_dirs / "results" / "classification", CLASSIFICATION))
    assert {r["spec"]["generator"]["name"] for r in classified} == {"none", "copy-paste", "defectgen", "import:generic"}

    assert main(["report", "--all"]) == 0
    report = (isolated_dirs / "results" / "report" / "report.md").read_text()
    for form in ("Defect Spectrum Table 4/5 form", "Generator leaderboard", "Defect Spectrum Table 7 form", "Benign-product simulation",
                 "DefectSynth Table IX form", "DCDGANc Table 8 form", "DCDGANc Table 4/6 form", "AnomalyDiffusion Table 2 form", "DefectSynth Table VIII form", "Segmenter speed", "Generator cost", "DefectDiffu Table 1"):
        assert form in report, form
    assert "fill to 20" in report, "the upsample rows (Table 6)"
    localized = [r for r in runs if r["spec"].get("labels") == "binary" and "+crop:" not in r["spec"]["split"]]
    assert len(localized) == 4 and all(r["data"]["classes"] == {"0": "background", "1": "defect"} and r.get("benign") is None
                                    and r["spec"]["split"] == "third" and r["segmenter"]["num_classes"] == 2 for r in localized)
    cropped = [r for r in runs if "+crop:" in r["spec"]["split"]]
    assert len(cropped) == 4 and all(r["segmenter"]["input_size"] >= 32 and r["data"]["n_test_normal"] == 0 for r in cropped)
