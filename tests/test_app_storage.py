import os

import cv2
import numpy as np
import pytest

from app.capture_storage import CaptureStorage, StorageError, write_png_exclusive
from fileio.capture_sets import list_sets


def frame(value):
    image = np.zeros((48, 64, 3), np.uint8)
    image[:, :, 0] = value
    image[5, 7] = (1, 2, 3)
    return image


def test_first_bkg_makes_set1_and_sav_numbers_from_zero(tmp_path):
    storage = CaptureStorage(tmp_path / "images")  # root does not exist yet
    assert storage.current_set is None
    with pytest.raises(StorageError, match="press Bkg first"):
        storage.save_frame(frame(1))
    plate_path = storage.create_set(frame(10))
    assert plate_path == tmp_path / "images" / "set1" / "bkg.png"
    paths = [storage.save_frame(frame(v)) for v in (20, 30)]
    assert [p.name for p in paths] == ["0.png", "1.png"]
    assert np.array_equal(cv2.imread(str(paths[1])), frame(30))  # raw pixels, lossless
    assert storage.frame_count() == 2 and storage.saved_this_run == 3
    assert sorted(os.listdir(tmp_path / "images" / "set1")) == ["0.png", "1.png", "bkg.png"]  # no temp files


def test_numbering_resumes_after_restart_and_skips_mask_indices(tmp_path):
    first = CaptureStorage(tmp_path)
    first.create_set(frame(1))
    first.create_set(frame(2))
    first.save_frame(frame(3))
    (tmp_path / "set2" / "4_mask.png").write_bytes(b"annotation for a deleted frame")
    (tmp_path / "set7_notes").mkdir()  # not a set
    restarted = CaptureStorage(tmp_path)
    assert restarted.current_set == 2  # newest set is current
    assert restarted.save_frame(frame(4)).name == "5.png"  # never pairs with the stale 4_mask.png
    assert restarted.create_set(frame(5)).parent.name == "set3"
    assert restarted.current_set == 3


def test_gaps_in_set_numbers_continue_after_the_highest(tmp_path):
    (tmp_path / "set1").mkdir()
    (tmp_path / "set9").mkdir()
    storage = CaptureStorage(tmp_path)
    assert storage.current_set == 9 and storage.current_plate_path is None
    assert storage.next_set_number() == 10


def test_existing_files_are_never_overwritten(tmp_path):
    target = tmp_path / "0.png"
    target.write_bytes(b"user capture")
    with pytest.raises(FileExistsError):
        write_png_exclusive(target, frame(1))
    assert target.read_bytes() == b"user capture"
    assert os.listdir(tmp_path) == ["0.png"]


def test_unusable_root_gives_a_clear_error(tmp_path):
    root = tmp_path / "not_a_folder"
    root.write_bytes(b"")
    with pytest.raises(StorageError, match="not_a_folder"):
        CaptureStorage(root).create_set(frame(1))


def test_reads_the_real_webcam_sets_layout_without_writing(shared):
    root = shared("data", "webcam_sets")
    sets = list_sets(root)
    storage = CaptureStorage(root)
    assert storage.current_set == sets[-1].number
    assert storage.next_set_number() == sets[-1].number + 1
    assert storage.current_plate_path == sets[-1].plate_path
    assert storage.frame_count() == len(sets[-1].frames)
    assert storage.frame_indices(sets[-1].number)[-1] == sets[-1].frames[-1].index


def test_a_failed_plate_write_leaves_no_set_behind(tmp_path, monkeypatch, shared):
    import errno

    import fileio.atomic_files as atomic_files
    plate = cv2.imread(str(shared("data", "webcam_sets", "set1", "bkg.png")))
    storage = CaptureStorage(tmp_path)
    storage.create_set(plate)
    real_fsync = atomic_files._fsync_file

    def disk_full(name):  # the plate's bytes were written, but cannot be flushed to disk
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic_files, "_fsync_file", disk_full)
    with pytest.raises(StorageError, match="No space left on device"):
        storage.create_set(plate)
    assert os.listdir(tmp_path) == ["set1"]  # no empty set2/, no staging folder, no temp file
    assert storage.current_set == 1 and CaptureStorage(tmp_path).current_set == 1  # also after a restart
    monkeypatch.setattr(atomic_files, "_fsync_file", real_fsync)
    assert storage.create_set(plate) == tmp_path / "set2" / "bkg.png"
    assert np.array_equal(cv2.imread(str(tmp_path / "set2" / "bkg.png")), plate)
    assert sorted(os.listdir(tmp_path / "set2")) == ["bkg.png"]


def test_a_plate_that_cannot_be_encoded_leaves_nothing(tmp_path):
    storage = CaptureStorage(tmp_path)
    with pytest.raises(StorageError, match="bkg.png"):
        storage.create_set(np.zeros((4, 4, 7), np.uint8))  # PNG has no 7-channel images
    assert os.listdir(tmp_path) == [] and storage.current_set is None


def test_frame_numbers_and_counts_follow_the_shared_layout(shared):
    from fileio.capture_sets import read_set
    for number in (1, 4):
        capture_set = read_set(shared("data", "webcam_sets", f"set{number}"))
        storage = CaptureStorage(capture_set.path.parent)
        storage.current_set = number
        assert storage.frame_count() == len(capture_set.frames)
        masked = {f.index for f in capture_set.frames if f.mask_path is not None}
        assert storage.frame_indices(number) == sorted({f.index for f in capture_set.frames} | masked)
