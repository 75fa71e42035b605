import numpy as np

from imuhip import quaternion as Q

rng = np.random.default_rng(1)


def _random_q(n: int) -> np.ndarray:
    return Q.normalize(rng.normal(size=(n, 4)))


def test_rotate_matches_matrix():
    q = _random_q(50)
    v = rng.normal(size=(50, 3))
    np.testing.assert_allclose(Q.rotate(q, v), np.einsum("nij,nj->ni", Q.to_matrix(q), v))


def test_matrix_round_trip_up_to_sign():
    q = _random_q(200)
    back = Q.from_matrix(Q.to_matrix(q))
    same = np.minimum(np.abs(back - q).max(1), np.abs(back + q).max(1))
    assert same.max() < 1e-12


def test_multiply_composes_rotations():
    p, q = _random_q(20), _random_q(20)
    v = rng.normal(size=(20, 3))
    np.testing.assert_allclose(Q.rotate(Q.multiply(p, q), v), Q.rotate(p, Q.rotate(q, v)))


def test_rotvec_round_trip_and_angle():
    rv = rng.normal(size=(100, 3))
    rv *= (np.linalg.norm(rv, axis=1, keepdims=True) % np.pi) / np.linalg.norm(
        rv, axis=1, keepdims=True
    )
    q = Q.from_rotvec(rv)
    np.testing.assert_allclose(Q.to_rotvec(q), rv, atol=1e-10)
    np.testing.assert_allclose(Q.angle(q), np.linalg.norm(rv, axis=1), atol=1e-10)
    assert np.allclose(Q.from_rotvec(np.zeros(3)), [1, 0, 0, 0])


def test_from_two_vectors_including_opposite():
    a = rng.normal(size=(30, 3))
    b = rng.normal(size=(30, 3))
    b[0] = -a[0]
    q = Q.from_two_vectors(a, b)
    got = Q.rotate(q, a / np.linalg.norm(a, axis=1, keepdims=True))
    np.testing.assert_allclose(got, b / np.linalg.norm(b, axis=1, keepdims=True), atol=1e-9)
