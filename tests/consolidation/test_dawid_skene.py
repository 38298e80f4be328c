import numpy as np
import pytest

from labelwire.server.consolidation import DawidSkene, Judgments, MajorityVote, OneCoinDawidSkene

from .conftest import PlantedCrowd, one_coin


def planted_matrices() -> np.ndarray:
    """Three kinds of worker over 3 classes: careful, confuses 1 with 2, biased towards 0."""
    careful = [[0.9, 0.05, 0.05], [0.05, 0.9, 0.05], [0.05, 0.05, 0.9]]
    confuser = [[0.8, 0.1, 0.1], [0.05, 0.55, 0.4], [0.05, 0.35, 0.6]]
    biased = [[0.9, 0.05, 0.05], [0.4, 0.55, 0.05], [0.3, 0.05, 0.65]]
    return np.array([careful, confuser, biased] * 4)


def test_dawid_skene_recovers_planted_confusion_matrices(planted_crowd: PlantedCrowd) -> None:
    confusion = planted_matrices()
    judgments, truth = planted_crowd(confusion, n_items=4000, per_item=5, seed=1)

    result = DawidSkene().fit(judgments)

    assert np.abs(result.confusion - confusion).max() < 0.07
    assert np.mean(result.labels == truth) > np.mean(MajorityVote().fit(judgments).labels == truth)
    assert result.converged


def test_dawid_skene_uses_class_swapping_worker(planted_crowd: PlantedCrowd) -> None:
    honest = one_coin([0.65] * 4, 3)
    swapper = np.array([[[0.02, 0.96, 0.02], [0.96, 0.02, 0.02], [0.02, 0.02, 0.96]]])
    judgments, truth = planted_crowd(np.concatenate([honest, swapper]), n_items=3000, per_item=5, seed=2)
    without = judgments.workers != 4
    honest_only = Judgments.from_lists(
        judgments.items[without], judgments.workers[without], judgments.answers[without], n_classes=3
    )

    with_swapper = DawidSkene().fit(judgments)
    alone = DawidSkene().fit(honest_only)

    assert with_swapper.confusion is not None
    assert with_swapper.confusion[4, 0, 1] > 0.9 and with_swapper.confusion[4, 1, 0] > 0.9
    assert np.mean(with_swapper.labels == truth) > np.mean(alone.labels == truth) + 0.05


def test_dawid_skene_gold_decides_between_two_consistent_camps() -> None:
    # Workers 0 and 1 always answer 0, workers 2 and 3 always answer 1: the data alone cannot tell who is right.
    items = np.repeat(np.arange(10), 4)
    workers = np.tile([0, 1, 2, 3], 10)
    answers = np.tile([0, 0, 1, 1], 10)
    j = Judgments.from_lists(items, workers, answers, n_classes=2)

    result = DawidSkene().fit(j, gold=(np.array([0, 1]), np.array([1, 1])))

    assert result.labels.tolist() == [1] * 10
    assert result.posteriors[0] == pytest.approx([0.0, 1.0])
    assert result.worker_skill[2] > 0.8 > 0.2 > result.worker_skill[0]


def test_gold_item_without_judgments_still_gets_its_label() -> None:
    j = Judgments.from_lists([0, 0, 1, 1], [0, 1, 0, 1], [1, 1, 0, 0], n_classes=2, n_items=3)

    result = DawidSkene().fit(j, gold={2: 1})

    assert result.labels.tolist() == [1, 0, 1]


def test_worker_with_one_answer_gets_a_smoothed_matrix_not_a_degenerate_one(
    planted_crowd: PlantedCrowd,
) -> None:
    judgments, _ = planted_crowd(one_coin([0.8] * 6, 3), n_items=300, per_item=3, seed=3)
    newcomer = Judgments.from_lists(
        np.r_[judgments.items, 0], np.r_[judgments.workers, 6], np.r_[judgments.answers, 2], n_classes=3
    )

    result = DawidSkene().fit(newcomer)

    assert result.confusion is not None
    assert np.all(result.confusion[6] > 0.01)
    assert np.all(result.confusion[6].max(axis=1) < 0.95)


def test_dawid_skene_confidence_matches_accuracy_on_synthetic_data(planted_crowd: PlantedCrowd) -> None:
    rng = np.random.default_rng(4)
    accuracy = rng.uniform(0.45, 0.9, size=40)
    judgments, truth = planted_crowd(one_coin(list(accuracy), 4), n_items=5000, per_item=3, seed=4)

    result = DawidSkene().fit(judgments)

    assert abs(result.confidence.mean() - np.mean(result.labels == truth)) < 0.03


def test_dawid_skene_prior_skill_sways_an_undecided_item() -> None:
    j = Judgments.from_lists([0, 0], [0, 1], [0, 1], n_classes=2)

    result = DawidSkene().fit(j, worker_skill=np.array([0.6, 0.95]))

    assert result.labels.tolist() == [1]


def test_one_coin_recovers_planted_accuracies(planted_crowd: PlantedCrowd) -> None:
    accuracy = [0.95, 0.85, 0.75, 0.6, 0.5, 0.4]
    judgments, truth = planted_crowd(one_coin(accuracy, 4), n_items=3000, per_item=4, seed=5)

    result = OneCoinDawidSkene().fit(judgments)

    assert result.worker_skill == pytest.approx(accuracy, abs=0.04)
    assert abs(result.confidence.mean() - np.mean(result.labels == truth)) < 0.03


def test_one_coin_counts_a_below_chance_worker_as_evidence_against() -> None:
    # Two classes; workers 0 and 1 are right, worker 2 always wrong. On item 9 only worker 2 answered.
    items = np.r_[np.repeat(np.arange(9), 3), 9]
    workers = np.r_[np.tile([0, 1, 2], 9), 2]
    truth = np.array([0, 1, 0, 1, 1, 0, 0, 1, 0])
    answers = np.r_[np.stack([truth, truth, 1 - truth], axis=1).ravel(), 1]
    j = Judgments.from_lists(items, workers, answers, n_classes=2)

    result = OneCoinDawidSkene().fit(j)

    assert result.worker_skill[2] < 0.3
    assert result.labels.tolist() == [*truth.tolist(), 0]


def test_one_coin_gold_anchors_worker_accuracy() -> None:
    items = np.repeat(np.arange(10), 4)
    workers = np.tile([0, 1, 2, 3], 10)
    answers = np.tile([0, 0, 1, 1], 10)
    j = Judgments.from_lists(items, workers, answers, n_classes=2)

    result = OneCoinDawidSkene().fit(j, gold=(np.array([0, 1, 2]), np.array([1, 1, 1])))

    assert result.labels.tolist() == [1] * 10


@pytest.mark.parametrize("model", [DawidSkene, OneCoinDawidSkene])
def test_em_stops_at_the_first_gain_under_tol_per_judgment(
    planted_crowd: PlantedCrowd, model: type[DawidSkene] | type[OneCoinDawidSkene]
) -> None:
    judgments, _ = planted_crowd(one_coin([0.9, 0.8, 0.7, 0.6, 0.55], 3), n_items=400, per_item=3, seed=6)
    em = model(tol=1e-4, smoothing=3.0)  # a fixed smoothing: EM runs one pass, not two

    result = em.fit(judgments)

    gains = np.diff(result.log_likelihood)
    bar = 1e-4 * len(judgments)
    assert result.converged and result.n_iter == len(result.log_likelihood) < 100
    assert gains[-1] < bar and np.all(gains[:-1] >= bar)


@pytest.mark.parametrize("model", [DawidSkene, OneCoinDawidSkene])
def test_em_cut_short_by_n_iter_says_it_did_not_converge(
    planted_crowd: PlantedCrowd, model: type[DawidSkene] | type[OneCoinDawidSkene]
) -> None:
    judgments, _ = planted_crowd(one_coin([0.9, 0.8, 0.7, 0.6, 0.55], 3), n_items=400, per_item=3, seed=6)

    result = model(n_iter=2).fit(judgments)

    assert not result.converged and result.n_iter == 2


def test_one_coin_accuracy_is_shrunk_towards_the_pooled_or_prior_accuracy() -> None:
    """With every item gold the truth is known, so each accuracy is exactly
    (right + 2 * prior) / (answered + 2): the prior is the pooled accuracy (5/8
    here) or the caller's."""
    j = Judgments.from_lists(
        [0, 1, 2, 3, 0, 1, 2, 3], [0, 0, 0, 0, 1, 1, 1, 1], [1, 0, 1, 0, 1, 1, 0, 1], n_classes=2
    )
    gold = {0: 1, 1: 0, 2: 1, 3: 0}

    pooled = OneCoinDawidSkene(smoothing=2.0).fit(j, gold=gold)
    with_prior = OneCoinDawidSkene(smoothing=2.0).fit(j, gold=gold, worker_skill=np.array([0.9, np.nan]))

    assert pooled.worker_skill == pytest.approx([(4 + 2 * 5 / 8) / 6, (1 + 2 * 5 / 8) / 6])
    assert with_prior.worker_skill == pytest.approx([(4 + 2 * 0.9) / 6, (1 + 2 * 5 / 8) / 6])


def test_a_single_class_with_prior_skills_labels_everything_that_class() -> None:
    j = Judgments.from_lists([0, 0, 1], [0, 1, 1], [0, 0, 0], n_classes=1)

    result = DawidSkene().fit(j, worker_skill=np.array([0.9, 0.6]))

    assert result.labels.tolist() == [0, 0]
    assert result.confidence.tolist() == [1.0, 1.0]


def test_a_prior_skill_is_a_matrix_of_smoothing_pseudo_answers() -> None:
    """Every item gold, so the counts are known: worker 0 (prior 0.9) right on
    all four, worker 1 (prior 0.6) on one; each row is counts + 5 * prior row."""
    j = Judgments.from_lists(
        [0, 1, 2, 3, 0, 1, 2, 3], [0, 0, 0, 0, 1, 1, 1, 1], [1, 0, 1, 0, 1, 1, 0, 1], n_classes=2
    )

    result = DawidSkene(smoothing=5.0).fit(
        j, gold={0: 1, 1: 0, 2: 1, 3: 0}, worker_skill=np.array([0.9, 0.6])
    )

    assert result.confusion is not None
    assert result.confusion[0] == pytest.approx(np.array([[6.5, 0.5], [0.5, 6.5]]) / 7)
    assert result.confusion[1] == pytest.approx(np.array([[3.0, 4.0], [3.0, 4.0]]) / 7)


def test_a_worker_who_never_gave_the_last_class_has_only_smoothing_in_that_column() -> None:
    """The last worker answers class 0 only, so no judgment carries the highest
    (worker, answer) code: the count tables must still cover every cell."""
    items = [0, 0, 0, 1, 1, 1, 2, 2, 2]
    workers = [0, 1, 2, 0, 1, 2, 0, 1, 2]
    answers = [0, 0, 0, 2, 2, 0, 1, 1, 0]
    j = Judgments.from_lists(items, workers, answers, n_classes=3)

    result = DawidSkene(smoothing=1.0).fit(j)

    assert result.labels.tolist() == [0, 2, 1]
    assert result.confusion is not None and result.confusion.shape == (3, 3, 3)
    # Worker 2 said 0 on every item: its "2" column holds pseudo-answers only.
    assert np.all(result.confusion[2][:, 2] < result.confusion[2][:, 0])


def _all_gold_three_class_crowd() -> tuple[Judgments, dict[int, int], list[int], list[int]]:
    """Six gold items over three classes; worker 0 is right on 5 of 6, worker 1 on 2 of 6."""
    truth = [0, 1, 2, 0, 1, 2]
    w0 = [0, 1, 2, 0, 1, 0]
    w1 = [0, 1, 0, 1, 2, 0]
    j = Judgments.from_lists(list(range(6)) * 2, [0] * 6 + [1] * 6, w0 + w1, n_classes=3)
    return j, dict(enumerate(truth)), [5, 2], [6, 6]


def test_one_coin_log_likelihood_spreads_a_workers_errors_over_the_other_two_classes() -> None:
    """Every item gold, so the log-likelihood is known exactly: log 1/3 per item (equal
    class priors) plus log skill per right answer and log((1 - skill) / 2) per wrong one."""
    j, gold, correct, answered = _all_gold_three_class_crowd()
    pooled = sum(correct) / sum(answered)
    skill = [(c + 2 * pooled) / (n + 2) for c, n in zip(correct, answered, strict=True)]
    expected = 6 * np.log(1 / 3) + sum(
        c * np.log(s) + (n - c) * np.log((1 - s) / 2)
        for c, n, s in zip(correct, answered, skill, strict=True)
    )

    result = OneCoinDawidSkene(smoothing=2.0).fit(j, gold=gold)

    assert result.worker_skill == pytest.approx(skill)
    assert result.log_likelihood[-1] == pytest.approx(expected)


def test_one_coin_fits_its_smoothing_to_each_workers_right_and_wrong_counts() -> None:
    """With `smoothing=None` the strength is the beta-binomial evidence maximum over
    (right, wrong) per worker; worker 1's 2 right of 6 means 4 wrong."""
    from labelwire.server.consolidation.shrinkage import fitted_strength

    j, gold, correct, answered = _all_gold_three_class_crowd()
    pooled = sum(correct) / sum(answered)
    counts = np.array([[c, n - c] for c, n in zip(correct, answered, strict=True)], dtype=float)
    strength = fitted_strength(counts, np.array([[pooled, 1 - pooled]] * 2))

    result = OneCoinDawidSkene().fit(j, gold=gold)

    assert result.worker_skill == pytest.approx(
        [(c + strength * pooled) / (n + strength) for c, n in zip(correct, answered, strict=True)]
    )


def test_one_coin_held_out_confidence_on_three_classes_is_the_workers_accuracy() -> None:
    """One worker of known accuracy 0.7 (held there by heavy smoothing) answers three
    items, one per class: each label's posterior is 0.7 against (1 - 0.7) / 2 for each
    other class, so the confidence is exactly 0.7, not the 0.78 of errors spread over three."""
    j = Judgments.from_lists([0, 1, 2], [0, 0, 0], [0, 1, 2], n_classes=3)

    result = OneCoinDawidSkene(smoothing=1e9).fit(j, worker_skill=np.array([0.7]))

    assert result.labels.tolist() == [0, 1, 2]
    assert result.confidence == pytest.approx([0.7, 0.7, 0.7], abs=1e-6)


def test_a_known_skill_spreads_the_errors_evenly_over_the_other_classes() -> None:
    """A worker with a prior skill and no answers keeps its prior matrix: the skill on the
    diagonal and the rest shared by the K - 1 other classes (three classes here, so the
    share is not the whole remainder)."""
    j = Judgments.from_lists([0, 0, 1, 1], [0, 1, 0, 1], [0, 0, 2, 2], n_classes=3, n_workers=3)
    result = DawidSkene(smoothing=5.0).fit(j, worker_skill=np.array([np.nan, np.nan, 0.8]))
    assert result.confusion is not None
    np.testing.assert_allclose(result.confusion[2], [[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]])


def test_log_gamma_of_a_transposed_table_matches_the_table() -> None:
    """Evidence sums take log Γ over views such as [worker, truth, answer] tables transposed
    from a class-major layout; the values must not depend on the memory layout."""
    from math import lgamma

    from labelwire.server.consolidation.shrinkage import log_gamma

    table = np.arange(1, 25, dtype=float).reshape(2, 3, 4) / 3
    view = table.transpose(1, 0, 2)

    assert log_gamma(view) == pytest.approx(np.vectorize(lgamma)(view), abs=1e-9)


def test_a_looser_settling_pass_gives_the_labels_of_a_fully_settled_one(planted_crowd: PlantedCrowd) -> None:
    """The first EM pass only settles the posteriors for fitting the smoothing, so it stops
    early; the labels and confidences must be those of a fit whose first pass ran to the end
    (on this hard crowd 8 iterations against 17, a confidence moving by 0.005 on average)."""

    class FullySettled(DawidSkene):
        def settling(self, state: object) -> bool:
            return False

    accuracy = np.linspace(0.45, 0.85, 60).tolist()
    judgments, _ = planted_crowd(one_coin(accuracy, 4), n_items=6000, per_item=3, seed=13)

    quick, full = DawidSkene().fit(judgments), FullySettled().fit(judgments)

    assert quick.n_iter < full.n_iter
    assert np.mean(quick.labels == full.labels) > 0.99
    assert np.abs(quick.confidence - full.confidence).mean() < 0.01
