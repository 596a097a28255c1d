"""tools.extract on real photos, with checkpoints trained here for a few steps (and the shipped weights)."""
import os

import cv2
import numpy as np
import pytest
import torch

from fileio.capture_sets import read_image
from models.checkpoint import CheckpointError, read_checkpoint
from models.gan.extractors import DEFAULT_EXTRACTOR_WEIGHTS, GarmentSegmenter, PersonExtractor
from models.gan.tryon import is_held_out
from tools.extract import main as extract
from training.__main__ import main as training_main
from training.gan.data import load_paired
from training.gan.trainer import GanSettings, train_pix2pix


def link_tryon(source, root, count):
    for part in ("image", "image-parse", "cloth", "cloth-mask"):
        (root / part).mkdir(parents=True)
    people = sorted((source / "image").iterdir())[:count]
    for person in people:
        pair = person.stem[:-2]
        os.symlink(person, root / "image" / person.name)
        os.symlink(source / "image-parse" / f"{pair}_0.png", root / "image-parse" / f"{pair}_0.png")
        os.symlink(source / "cloth" / f"{pair}_1.jpg", root / "cloth" / f"{pair}_1.jpg")
        os.symlink(source / "cloth-mask" / f"{pair}_1.png", root / "cloth-mask" / f"{pair}_1.png")
    return [p.stem[:-2] for p in people]


def quick_checkpoint(folders, out, size):
    torch.set_num_threads(1)
    settings = GanSettings(model="pix2pix", iterations=2, batch_size=2, size=size, width=8, depth=4,
                           critic_width=8, val_every=2, val_limit=1, device="cpu", out=out, progress=False)
    train_pix2pix(settings, load_paired(folders, val_sets={4}))
    return out / "last.pt"


@pytest.fixture(scope="module")
def tryon(shared, tmp_path_factory):
    root = tmp_path_factory.mktemp("tryon")
    return root, link_tryon(shared("data", "tryon"), root, 6)


@pytest.fixture(scope="module")
def garment_checkpoint(tryon, tmp_path_factory):
    return quick_checkpoint([tryon[0]], tmp_path_factory.mktemp("garment_run"), (64, 48))


@pytest.fixture(scope="module")
def person_checkpoint(shared, tmp_path_factory):
    sets = tmp_path_factory.mktemp("sets")
    for number in (1, 4):
        os.symlink(shared("data", "webcam_sets", f"set{number}"), sets / f"set{number}")
    return quick_checkpoint([sets], tmp_path_factory.mktemp("person_run"), (64, 64))


def test_garment_data_mode_writes_one_192x256_product_per_person(tryon, garment_checkpoint, tmp_path):
    root, pairs = tryon
    assert extract(["garment", "--data", str(root), "--out", str(tmp_path), "--model", str(garment_checkpoint)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{pair}_1.png" for pair in pairs]
    assert all(read_image(p).shape == (256, 192, 3) for p in tmp_path.iterdir())


def test_garment_single_photo_takes_a_parse_map_or_a_0_255_mask_alike(tryon, garment_checkpoint, tmp_path):
    root, pairs = tryon
    photo = root / "image" / f"{pairs[0]}_0.jpg"
    parse = root / "image-parse" / f"{pairs[0]}_0.png"
    assert extract(["garment", str(photo), "--mask", str(parse), "--out", str(tmp_path / "a"),
                    "--model", str(garment_checkpoint)]) == 0
    from models.gan.imaging import garment_mask_from_labels, read_labels
    binary = garment_mask_from_labels(read_labels(parse)).astype(np.uint8) * 255
    cv2.imwrite(str(tmp_path / "mask.png"), binary)
    assert extract(["garment", str(photo), "--mask", str(tmp_path / "mask.png"), "--out", str(tmp_path / "b"),
                    "--model", str(garment_checkpoint)]) == 0
    name = f"{pairs[0]}_1.png"
    assert np.array_equal(read_image(tmp_path / "a" / name), read_image(tmp_path / "b" / name))


def test_garment_refuses_a_person_checkpoint_and_a_mask_of_another_size(tryon, person_checkpoint, tmp_path, capsys,
                                                                        garment_checkpoint):
    root, pairs = tryon
    photo = str(root / "image" / f"{pairs[0]}_0.jpg")
    assert extract(["garment", photo, "--mask", str(root / "image-parse" / f"{pairs[0]}_0.png"), "--out",
                    str(tmp_path), "--model", str(person_checkpoint)]) == 2
    assert "not tryon data" in capsys.readouterr().err
    cv2.imwrite(str(tmp_path / "small.png"), np.full((10, 10), 255, np.uint8))
    assert extract(["garment", photo, "--mask", str(tmp_path / "small.png"), "--out", str(tmp_path / "o"),
                    "--model", str(garment_checkpoint)]) == 1
    assert "small.png" in capsys.readouterr().err


@pytest.fixture(scope="module")
def hinted_person_checkpoint(shared, tmp_path_factory):
    """Two steps of the command-line trainer with --mask-hint on capture sets 1 and 4."""
    sets = tmp_path_factory.mktemp("hinted_sets")
    for number in (1, 4):
        os.symlink(shared("data", "webcam_sets", f"set{number}"), sets / f"set{number}")
    out = tmp_path_factory.mktemp("hinted_run")
    assert training_main(["--model", "pix2pix", "--data", str(sets), "--val-sets", "4", "--size", "64x64",
                          "--width", "8", "--depth", "4", "--critic-width", "8", "-i", "2", "-b", "2",
                          "--val-every", "2", "--val-limit", "1", "--input-gate", "--mask-hint", "--threads", "1",
                          "--no-progress", "--out", str(out)]) == 0
    return out / "last.pt"


def test_a_hinted_person_extractor_shows_its_generator_the_mask_nets_person(shared, hinted_person_checkpoint):
    from fileio.capture_sets import read_mask
    from metrics.mask_metrics import iou

    extractor = PersonExtractor(hinted_person_checkpoint, "cpu")
    frame = read_image(shared("data", "webcam_sets", "set4", "1.png"))
    truth = read_mask(shared("data", "webcam_sets", "set4", "1_mask.png"))
    source, (height, width) = extractor.generator_input(frame)
    assert source.shape == (4, 64, 64)
    hint = source[3].numpy() > 0
    small_truth = cv2.resize(truth.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST) > 0
    assert iou(hint[:height, :width], small_truth) > 0.85  # a held-out frame: the person, not the room
    assert not hint[height:].any() and not hint[:, width:].any()  # the letterbox padding holds nobody
    assert extractor.extract(frame).shape == frame.shape


def test_a_four_channel_person_checkpoint_that_names_no_hint_is_refused(hinted_person_checkpoint, tmp_path):
    payload = read_checkpoint(hinted_person_checkpoint)
    assert payload["mask_hint"] == DEFAULT_EXTRACTOR_WEIGHTS["person_mask_net"].name
    payload["mask_hint"] = None
    torch.save(payload, tmp_path / "unhinted.pt")
    with pytest.raises(CheckpointError, match="--mask-hint"):
        PersonExtractor(tmp_path / "unhinted.pt", "cpu")


def test_person_keeps_the_input_size_and_skips_an_unreadable_file(shared, person_checkpoint, tmp_path, capsys):
    frame = shared("data", "webcam_sets", "set4", "0.png")
    portrait = sorted(shared("data", "portraits", "ccp", "images").iterdir())[0]
    (tmp_path / "broken.png").write_bytes(b"no image")
    code = extract(["person", str(frame), str(portrait), str(tmp_path / "broken.png"), "--out", str(tmp_path / "o"),
                    "--model", str(person_checkpoint)])
    assert code == 1 and "broken.png" in capsys.readouterr().err
    assert read_image(tmp_path / "o" / "0.png").shape == read_image(frame).shape
    out = read_image(tmp_path / "o" / f"{portrait.stem}.png")
    original = read_image(portrait)
    assert out.shape == original.shape
    kept = np.any(out != 255, axis=2)
    assert np.array_equal(out[kept], original[kept])  # the photo's own pixels, or white


def test_garment_from_a_photo_alone_uses_the_shipped_segmenter(shared, garment_checkpoint, tmp_path):
    weights = DEFAULT_EXTRACTOR_WEIGHTS["garment_segmenter"]
    assert weights.is_file(), f"{weights} missing: train it with the README's garment segmenter command"
    tryon = shared("data", "tryon")
    held_out = [p for p in sorted((tryon / "image").iterdir()) if is_held_out(p.stem[:-2])][:3]
    assert extract(["garment", *map(str, held_out), "--out", str(tmp_path), "--model", str(garment_checkpoint)]) == 0
    assert len(list(tmp_path.iterdir())) == 3
    from models.gan.imaging import garment_mask_from_labels, read_labels
    from metrics.mask_metrics import iou
    segmenter = GarmentSegmenter()
    scores = [iou(segmenter.mask(read_image(p)),
                  garment_mask_from_labels(read_labels(tryon / "image-parse" / f"{p.stem}.png"))) for p in held_out]
    assert np.mean(scores) > 0.7  # pairs it never trained on


def test_person_mask_net_method_cuts_the_person_out_of_a_held_out_webcam_frame(shared, tmp_path):
    from fileio.capture_sets import read_mask
    from metrics.image_metrics import silhouette
    from metrics.mask_metrics import iou

    frame = shared("data", "webcam_sets", "set4", "1.png")
    assert extract(["person", str(frame), "--method", "mask-net", "--out", str(tmp_path), "--threads", "1"]) == 0
    out, original = read_image(tmp_path / "1.png"), read_image(frame)
    kept = np.any(out != 255, axis=2)
    assert np.array_equal(out[kept], original[kept])
    assert iou(silhouette(out), read_mask(shared("data", "webcam_sets", "set4", "1_mask.png"))) > 0.9


def test_shipped_garment_extractor_draws_the_product_silhouette_of_held_out_pairs(shared):
    from benchmarks.extractors import held_out_pairs
    from fileio.capture_sets import read_mask
    from metrics.image_metrics import silhouette
    from metrics.mask_metrics import iou
    from models.gan.extractors import GarmentExtractor
    from models.gan.imaging import garment_mask_from_labels, read_labels
    folder = shared("data", "tryon")
    extractor = GarmentExtractor(device="cpu")
    scores = []
    for pair in held_out_pairs(folder, 0.1)[:40]:
        worn = garment_mask_from_labels(read_labels(folder / "image-parse" / f"{pair}_0.png"))
        product = extractor.extract(read_image(folder / "image" / f"{pair}_0.jpg"), worn)
        scores.append(iou(silhouette(product), read_mask(folder / "cloth-mask" / f"{pair}_1.png")))
    # Measured 0.816 on these 40 pairs (0.799 on all 195); 0.80 before white garments were kept off white, and
    # 0.77 with the earlier ungated extractor.
    assert np.mean(scores) >= 0.80, scores


def test_shipped_garment_extractor_keeps_white_garments_visible_on_the_white_background(shared):
    """A white shirt drawn at 250 would vanish into the background: its silhouette must be the generator's gate."""
    from benchmarks.extractors import held_out_pairs
    from metrics.image_metrics import silhouette
    from metrics.mask_metrics import iou
    from models.gan.extractors import GarmentExtractor
    from models.gan.imaging import garment_mask_from_labels, read_labels
    folder = shared("data", "tryon")
    extractor = GarmentExtractor(device="cpu")
    white = []
    for pair in held_out_pairs(folder, 0.1):
        photo = read_image(folder / "image" / f"{pair}_0.jpg")
        worn = garment_mask_from_labels(read_labels(folder / "image-parse" / f"{pair}_0.png"))
        if np.median(photo[worn].min(axis=1)) < 235:
            continue
        product = extractor.extract(photo, worn)
        with torch.no_grad():
            _, gate_logits = extractor.translator.model.drawn_and_gate_logits(
                extractor.generator_input(photo, worn)[None])
        gate = cv2.resize((gate_logits[0, 0] > 0).numpy().astype(np.uint8), product.shape[1::-1],
                          interpolation=cv2.INTER_NEAREST) > 0
        white.append(iou(silhouette(product), gate))
    assert len(white) >= 8, f"only {len(white)} held-out pairs with a white garment in {folder}"
    # Measured 0.99 or more on each; drawn as the generator draws them (up to 255), one kept only 0.12 of it.
    assert min(white) >= 0.95, white
