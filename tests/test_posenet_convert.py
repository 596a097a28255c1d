"""TF.js checkpoint -> PyTorch conversion, tested offline on a locally fabricated manifest and shards."""
import json

import numpy as np
import pytest
import torch

import models.posenet.fetch as fetch
from models.posenet import MobileNetPoseNet, load_network
from models.posenet.convert import ConversionError, convert_folder


def tf_name(key):
    """Inverse of the converter's naming, written independently for the test."""
    module, param = key.rsplit(".", 1)
    kind = "biases" if param == "bias" else "weights"
    if module.startswith("features."):
        _, conv, part = module.split(".")
        index = conv[len("conv"):]
        if part == "conv":
            return f"MobilenetV1/Conv2d_{index}/{kind}"
        if part == "depthwise" and kind == "weights":
            kind = "depthwise_weights"
        return f"MobilenetV1/Conv2d_{index}_{part}/{kind}"
    return f"MobilenetV1/{module}_2/{kind}"


def write_tfjs_checkpoint(folder, state):
    """manifest.json + one raw little-endian float32 file per variable, in TF layouts."""
    manifest = {}
    for key, tensor in state.items():
        array = tensor.numpy()
        if array.ndim == 4:
            array = array.transpose(2, 3, 0, 1) if ".depthwise." in key else array.transpose(2, 3, 1, 0)
        name = tf_name(key)
        filename = name.replace("/", "_")
        array.astype("<f4").tofile(folder / filename)
        manifest[name] = {"filename": filename, "shape": list(array.shape)}
    manifest["MobilenetV1/partheat_1/biases"] = {"filename": "unused", "shape": [17]}  # ignored extra head
    np.zeros(17, "<f4").tofile(folder / "unused")
    (folder / "manifest.json").write_text(json.dumps(manifest))


@pytest.fixture
def fabricated(tmp_path):
    torch.manual_seed(0)
    state = {k: torch.randn_like(v) for k, v in MobileNetPoseNet(0.50).state_dict().items()}
    folder = tmp_path / "tfjs"
    folder.mkdir()
    write_tfjs_checkpoint(folder, state)
    return folder, state


def test_conversion_restores_every_tensor_in_pytorch_layout(fabricated):
    folder, state = fabricated
    converted = convert_folder(folder)
    assert set(converted) == set(state)
    for key in state:
        torch.testing.assert_close(converted[key], state[key], rtol=0, atol=0, msg=key)


def test_missing_or_truncated_shard_is_reported_by_name(fabricated):
    folder, _ = fabricated
    manifest = json.loads((folder / "manifest.json").read_text())
    shard = folder / manifest["MobilenetV1/heatmap_2/weights"]["filename"]
    shard.write_bytes(shard.read_bytes()[:-4])
    with pytest.raises(ConversionError, match="heatmap_2_weights"):
        convert_folder(folder)
    shard.unlink()
    with pytest.raises(ConversionError, match="missing"):
        convert_folder(folder)


def test_a_checkpoint_missing_a_layer_does_not_convert(fabricated):
    folder, _ = fabricated
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["MobilenetV1/Conv2d_13_pointwise/weights"]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ConversionError, match="conv13"):
        convert_folder(folder)


def test_fetch_converts_and_writes_atomically_without_network(fabricated, tmp_path, monkeypatch, capsys):
    folder, state = fabricated

    def fake_download(url, target):  # stands in for the network: copies the fabricated files
        assert url == fetch.checkpoint_url("050")
        for path in folder.iterdir():
            (target / path.name).write_bytes(path.read_bytes())

    monkeypatch.setattr(fetch, "download_checkpoint", fake_download)
    monkeypatch.setenv("BACKPLATE_CACHE_DIR", str(tmp_path / "cache"))
    assert fetch.main([]) == 0
    out = tmp_path / "cache" / "posenet_mobilenet_v1_050.pth"
    assert str(out) in capsys.readouterr().out
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temp file left behind
    network = load_network(out)
    torch.testing.assert_close(network.heatmap.weight, state["heatmap.weight"])


def test_fetch_reports_a_network_failure_without_traceback(tmp_path, monkeypatch, capsys):
    import urllib.error

    def offline(url, target):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(fetch, "_download", offline)
    assert fetch.main(["--out", str(tmp_path / "w.pth")]) == 1
    assert "could not download" in capsys.readouterr().err
    assert not (tmp_path / "w.pth").exists()
