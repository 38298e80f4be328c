import numpy as np
import pytest

from labelwire.server.consolidation import PixelVote


def test_pixel_vote_takes_the_majority_class_per_pixel() -> None:
    masks = np.array([[[0, 1], [2, 2]], [[0, 1], [1, 2]], [[1, 1], [0, 2]]])

    result = PixelVote(n_classes=3).fit(masks)

    assert result.labels.tolist() == [[0, 1], [0, 2]]
    assert result.confidence == pytest.approx(np.array([[2 / 3, 1.0], [1 / 3, 1.0]]))
    assert result.worker_agreement == pytest.approx([0.75, 0.75, 0.75])


def test_pixel_vote_weights_masks_by_worker_skill() -> None:
    masks = np.array([[[1, 1]], [[0, 0]], [[0, 1]]])

    result = PixelVote(n_classes=2).fit(masks, worker_skill=np.array([0.9, 0.3, 0.3]))

    assert result.labels.tolist() == [[1, 1]]
    assert result.worker_iou[1].tolist() == [0.0, 0.0]


def test_image_confidence_is_the_mean_agreement_over_painted_pixels() -> None:
    masks = np.zeros((3, 10, 10), dtype=np.int64)
    masks[:, 0, 0:2] = 1
    masks[2, 0, 1] = 2

    result = PixelVote(n_classes=3).fit(masks)

    assert result.image_confidence(masks) == pytest.approx((1 + 2 / 3) / 2)
    assert PixelVote(n_classes=3).fit(np.zeros((2, 4, 4))).image_confidence(np.zeros((2, 4, 4))) == 1.0


def test_pixel_vote_with_many_classes_votes_only_those_present() -> None:
    masks = np.array([[[200, 0]], [[200, 7]], [[3, 7]]])

    result = PixelVote(n_classes=256).fit(masks)

    assert result.labels.tolist() == [[200, 7]]
    assert result.confidence == pytest.approx(np.array([[2 / 3, 2 / 3]]))
    assert result.worker_iou.shape == (3, 256)
