"""PoseNet decoding on synthetic output maps whose right answer is known by construction."""
import numpy as np
import pytest

from models.posenet.decode import KEYPOINT_INDEX, POSE_EDGES, decode_multiple_poses, scale_poses

STRIDE = 16
H, W = 20, 24


def person_cells(top, left):
    """A plausible standing person as (row, col) cells for the 17 keypoints."""
    rows = [0, 0, 0, 0, 0, 2, 2, 4, 4, 6, 6, 7, 7, 10, 10, 13, 13]
    cols = [1, 2, 0, 3, -1, 3, -1, 4, -2, 4, -2, 2, 0, 2, 0, 2, 0]
    return [(top + r, left + c) for r, c in zip(rows, cols)]


def empty_maps():
    return (np.zeros((17, H, W), np.float32), np.zeros((34, H, W), np.float32),
            np.zeros((32, H, W), np.float32), np.zeros((32, H, W), np.float32))


def draw_person(maps, cells, score=0.9, offset=(3.0, -2.0)):
    """Peaks at the cells, a constant (dy, dx) offset, and displacements that link the tree exactly."""
    heat, off, fwd, bwd = maps
    dy, dx = offset
    for k, (r, c) in enumerate(cells):
        heat[k, r, c] = score
        off[k, r, c], off[17 + k, r, c] = dy, dx
    for e, (parent, child) in enumerate(POSE_EDGES):
        (pr, pc), (cr, cc) = cells[parent], cells[child]
        fwd[e, pr, pc], fwd[16 + e, pr, pc] = (cr - pr) * STRIDE, (cc - pc) * STRIDE
        bwd[e, cr, cc], bwd[16 + e, cr, cc] = (pr - cr) * STRIDE, (pc - cc) * STRIDE


def expected_points(cells, offset=(3.0, -2.0)):
    return np.array([(c * STRIDE + offset[1], r * STRIDE + offset[0]) for r, c in cells])


def test_multi_pose_decodes_two_people_through_the_displacement_chains():
    maps = empty_maps()
    a, b = person_cells(2, 3), person_cells(4, 15)
    draw_person(maps, a, score=0.95)
    draw_person(maps, b, score=0.7)
    poses = decode_multiple_poses(*maps, stride=STRIDE, part_score_threshold=0.5, nms_radius=20)
    assert len(poses) == 2
    np.testing.assert_allclose(poses[0].keypoints, expected_points(a))
    np.testing.assert_allclose(poses[1].keypoints, expected_points(b))
    assert poses[0].score > poses[1].score


def test_chain_reaches_parts_below_the_threshold_from_a_single_strong_seed():
    maps = empty_maps()
    cells = person_cells(2, 5)
    draw_person(maps, cells, score=0.3)
    maps[0][KEYPOINT_INDEX["left_wrist"]][cells[KEYPOINT_INDEX["left_wrist"]]] = 0.9  # only seed
    poses = decode_multiple_poses(*maps, stride=STRIDE, part_score_threshold=0.5, min_pose_score=0.0)
    assert len(poses) == 1
    np.testing.assert_allclose(poses[0].keypoints, expected_points(cells))


def test_a_second_peak_within_the_nms_radius_does_not_make_a_second_person():
    maps = empty_maps()
    cells = person_cells(2, 5)
    draw_person(maps, cells, score=0.9)
    nose_r, nose_c = cells[0]
    maps[0][0, nose_r + 2, nose_c] = 0.85      # a nose peak 32 px below (own local maximum)
    one = decode_multiple_poses(*maps, stride=STRIDE, nms_radius=40, min_pose_score=0.0)
    two = decode_multiple_poses(*maps, stride=STRIDE, nms_radius=10, min_pose_score=0.0)
    assert len(one) == 1
    assert len(two) == 2


def test_nothing_above_threshold_means_no_people():
    maps = empty_maps()
    draw_person(maps, person_cells(2, 5), score=0.4)
    assert decode_multiple_poses(*maps, stride=STRIDE, part_score_threshold=0.5) == []


def test_scaling_keeps_pixel_centres_aligned():
    maps = empty_maps()
    draw_person(maps, person_cells(2, 5))
    (pose,) = decode_multiple_poses(*maps, stride=STRIDE)
    (scaled,) = scale_poses([pose], 2.0, 3.0)
    np.testing.assert_allclose(scaled.keypoints[:, 0], (pose.keypoints[:, 0] + 0.5) * 2.0 - 0.5)
    np.testing.assert_allclose(scaled.keypoints[:, 1], (pose.keypoints[:, 1] + 0.5) * 3.0 - 0.5)


def test_mismatched_maps_are_rejected_with_the_shapes():
    heat, off, fwd, bwd = empty_maps()
    with pytest.raises(ValueError, match="offsets"):
        decode_multiple_poses(heat, off[:, :5], fwd, bwd)
    with pytest.raises(ValueError, match="displacements"):
        decode_multiple_poses(heat, off, fwd[:10], bwd)
