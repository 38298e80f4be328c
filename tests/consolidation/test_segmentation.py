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
