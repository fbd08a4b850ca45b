"""Dataset-sized images for `make bench` (BENCH=dataset): N JPEGs of 640x480 that look like
photographs to an encoder (a smooth gradient, blurred noise, fine grain) with 1 to 3 shapes
each (circle, square, triangle), and a COCO instances file naming each shape's box and
category. Deterministic for a seed.

    make_dataset.py OUT_DIR COUNT [SEED]   writes OUT_DIR/images/*.jpg and OUT_DIR/coco.json
"""
import json
import os
import random
import sys

from PIL import Image, ImageDraw, ImageFilter

WIDTH, HEIGHT = 640, 480
CATEGORIES = ["circle", "square", "triangle"]


def make(index, rng):
    # A gradient between two colours, blurred noise for texture, then fine grain on top.
    top = [rng.randrange(30, 220) for _ in range(3)]
    bottom = [rng.randrange(30, 220) for _ in range(3)]
    gradient = Image.linear_gradient("L").resize((WIDTH, HEIGHT))
    image = Image.composite(Image.new("RGB", (WIDTH, HEIGHT), tuple(bottom)),
                            Image.new("RGB", (WIDTH, HEIGHT), tuple(top)), gradient)
    texture = Image.effect_noise((WIDTH // 4, HEIGHT // 4), 60).resize((WIDTH, HEIGHT), Image.BICUBIC)
    image = Image.blend(image, Image.merge("RGB", [texture] * 3), 0.25)
    draw = ImageDraw.Draw(image)
    annotations = []
    for _ in range(rng.randint(1, 3)):
        category = rng.randrange(len(CATEGORIES))
        size = rng.randint(60, 200)
        x, y = rng.randint(0, WIDTH - size), rng.randint(0, HEIGHT - size)
        colour = tuple(rng.randrange(0, 256) for _ in range(3))
        if category == 0:
            draw.ellipse((x, y, x + size, y + size), fill=colour)
        elif category == 1:
            draw.rectangle((x, y, x + size, y + size), fill=colour)
        else:
            draw.polygon([(x + size / 2, y), (x, y + size), (x + size, y + size)], fill=colour)
        annotations.append((category, [x, y, size, size]))
    image = image.filter(ImageFilter.GaussianBlur(0.8))
    grain = Image.effect_noise((WIDTH, HEIGHT), 12)
    image = Image.blend(image, Image.merge("RGB", [grain] * 3), 0.08)
    return image, annotations


def main():
    out, count = sys.argv[1], int(sys.argv[2])
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    rng = random.Random(seed)
    os.makedirs(f"{out}/images", exist_ok=True)
    coco = {"images": [], "annotations": [],
            "categories": [{"id": i + 1, "name": name} for i, name in enumerate(CATEGORIES)]}
    for index in range(count):
        image, annotations = make(index, rng)
        name = f"img-{index:05d}.jpg"
        image.save(f"{out}/images/{name}", "JPEG", quality=90)
        coco["images"].append({"id": index + 1, "file_name": name, "width": WIDTH, "height": HEIGHT})
        for category, box in annotations:
            coco["annotations"].append({"id": len(coco["annotations"]) + 1, "image_id": index + 1,
                                        "category_id": category + 1, "bbox": box, "area": box[2] * box[3],
                                        "iscrowd": 0})
    with open(f"{out}/coco.json", "w") as f:
        json.dump(coco, f)


if __name__ == "__main__":
    main()
