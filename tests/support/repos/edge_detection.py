"""Upstream Coflux's ``examples/edge_detection`` workflow, in its shape, with its use of
``cf.asset`` unchanged: the image work (OpenCV, scikit-image, a photo download) is
replaced by small byte transformations so that the test needs nothing installed."""

from pathlib import Path

import coflux as cf


def _photo(i: int) -> bytes:
    return bytes((x * 7 + i) % 256 for x in range(4096))


@cf.task(memo=True)
def fetch_photo(i: int = 0) -> cf.Asset:
    Path("result.jpg").write_bytes(_photo(i))
    return cf.asset()


def _restore_image(image_f: cf.Execution[cf.Asset]) -> bytes:
    path = image_f.result()["result.jpg"].restore()
    return path.read_bytes()


def _persist_image(img: bytes) -> cf.Asset:
    Path("result.jpg").write_bytes(img)
    return cf.asset("result.jpg")


@cf.task(wait=True)
def to_grayscale(image_f: cf.Execution[cf.Asset]) -> cf.Asset:
    img = _restore_image(image_f)
    return _persist_image(bytes(b // 2 for b in img))


@cf.task(wait=True)
def apply_blur(image_f: cf.Execution[cf.Asset]) -> cf.Asset:
    img = _restore_image(image_f)
    return _persist_image(bytes((a + b) // 2 for a, b in zip(img, img[1:] + img[:1], strict=True)))


@cf.task(wait={"image_f"})
def detect_edges(image_f: cf.Execution[cf.Asset], kernel_size=5, threshold=64) -> list[int]:
    img = _restore_image(image_f)
    cf.log_info("Input: {shape}", shape=len(img), nonzeros=sum(1 for b in img if b))
    return [i for i, b in enumerate(img) if b > threshold][:: kernel_size * 100]


@cf.task(wait=True)
def detect_contours(edges_f: cf.Execution, image_f: cf.Execution[cf.Asset]) -> cf.Asset:
    img = bytearray(_restore_image(image_f))
    edges = edges_f.result()
    cf.log_info("Edges: {shape}", shape=len(edges))
    for i in edges:
        img[i] = 255
    return _persist_image(bytes(img))


@cf.workflow()
def pipeline() -> cf.Execution[cf.Asset]:
    original_f = fetch_photo.submit()
    grayscale_f = to_grayscale.submit(original_f)
    blurred_f = apply_blur.submit(grayscale_f)
    edges_f = detect_edges.submit(blurred_f)
    return detect_contours.submit(edges_f, original_f)
