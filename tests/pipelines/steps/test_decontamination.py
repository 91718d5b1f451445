"""decontamination: eval sets written in the test (MMLU-, HellaSwag-, HumanEval-like items)."""

from __future__ import annotations

import gzip
import json

import pytest

from corpusmill.pipelines.steps import registry
from corpusmill.pipelines.steps.decontamination import Decontamination, item_grams, iter_eval_items, normalize_words
from corpusmill.schemas.document import Document, Drop

MMLU = [
    {
        "question": "Which of the following best describes the primary function of the mitochondria in eukaryotic cells?",
        "choices": ["Protein synthesis", "Energy production through cellular respiration", "Storage of genetic material", "Cell division"],
        "answer": 1,
    },
    {
        "question": "The Treaty of Westphalia, signed in 1648, is most often credited with establishing which principle of international relations?",
        "choices": ["Collective security", "State sovereignty", "Free trade", "Self-determination"],
        "answer": 1,
    },
]
HELLASWAG = [
    {
        "ctx": "A man is standing on a ladder cleaning the gutters of a two story house. He",
        "endings": [
            "scoops a handful of wet leaves out and drops them into a bucket hanging from the ladder.",
            "jumps off the roof into a swimming pool full of orange juice.",
        ],
        "label": 0,
    }
]
HUMANEVAL = [
    {
        "task_id": "HumanEval/0",
        "prompt": 'def has_close_elements(numbers: List[float], threshold: float) -> bool:\n    """ Check if in given list of numbers, are any two numbers closer to each other than\n    given threshold.\n    """\n',
        "canonical_solution": "    for idx, elem in enumerate(numbers):\n        for idx2, elem2 in enumerate(numbers):\n            if idx != idx2:\n                distance = abs(elem - elem2)\n                if distance < threshold:\n                    return True\n\n    return False\n",
    }
]


def write_jsonl(path, rows, compress=False):
    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
    path.write_bytes(gzip.compress(data) if compress else data)
    return str(path)


@pytest.fixture()
def eval_sets(tmp_path):
    return [
        write_jsonl(tmp_path / "mmlu.jsonl", MMLU),
        write_jsonl(tmp_path / "hellaswag.jsonl.gz", HELLASWAG, compress=True),
        write_jsonl(tmp_path / "humaneval.jsonl", HUMANEVAL),
    ]


def doc(text: str, source: str = "web") -> Document:
    return Document(id="d", text=text, source=source, location="x")


def test_normalize_words():
    assert normalize_words("Hello, World! It's 2024_v2.") == ["hello", "world", "it", "s", "2024", "v2"]
    assert normalize_words("東京は晴れ。Ok") == ["東", "京", "は", "晴", "れ", "ok"]


def test_item_grams_short_items():
    words = normalize_words("one two three four five six seven eight nine")
    assert list(item_grams(words, 13, 8)) == [tuple(words)]  # 9 words: the whole item
    assert list(item_grams(words[:5], 13, 8)) == []  # 5 words: ignored
    assert len(list(item_grams(words, 4, 8))) == 6


def test_mmlu_question_in_web_page_is_dropped(eval_sets):
    step = registry.build("decontamination", {"eval_sets": eval_sets})
    step.setup()
    page = (
        "Biology quiz, chapter 4.\n"
        "Q: Which of the following BEST describes the primary function of the mitochondria in "
        "eukaryotic cells? (a) protein synthesis (b) energy production\n"
        "Answers at the bottom of the page."
    )
    result = step(doc(page))
    assert isinstance(result, Drop)
    assert result.reason == "benchmark_overlap"
    assert result.detail.startswith("eval=mmlu.jsonl matches=3 ngram=")


def test_hellaswag_ending_and_gzip_file(eval_sets):
    step = Decontamination(eval_sets=eval_sets)
    text = "Saturday chores: he scoops a handful of wet leaves out and drops them into a bucket hanging from the ladder, then rests."
    result = step(doc(text))
    assert isinstance(result, Drop) and "eval=hellaswag.jsonl.gz" in result.detail


def test_humaneval_solution_in_code(eval_sets):
    step = Decontamination(eval_sets=eval_sets, fields=["prompt", "canonical_solution"])
    copied = (
        "import math\n\n"
        "def close(numbers, threshold):\n"
        "    for idx, elem in enumerate(numbers):\n"
        "        for idx2, elem2 in enumerate(numbers):\n"
        "            if idx != idx2:\n"
        "                distance = abs(elem - elem2)\n"
        "                if distance < threshold:\n"
        "                    return True\n"
        "    return False\n"
    )
    result = step(doc(copied, source="code"))
    assert isinstance(result, Drop) and "eval=humaneval.jsonl" in result.detail


def test_clean_documents_kept(eval_sets):
    step = Decontamination(eval_sets=eval_sets)
    texts = [
        # same topic and vocabulary, no shared 13-gram
        "Mitochondria produce most of the energy of eukaryotic cells through cellular respiration, "
        "which is why they are often described as the powerhouse of the cell.",
        # short answers of the eval sets appear everywhere: never a match on their own
        "State sovereignty, free trade and collective security were debated; cell division was not.",
        "",
    ]
    for text in texts:
        d = doc(text)
        assert step(d) is d


def test_nine_word_item_matches_whole(tmp_path):
    path = write_jsonl(tmp_path / "short.jsonl", [{"q": "What is the boiling point of water at sea level?"}])
    step = Decontamination(eval_sets=[path])
    assert isinstance(step(doc("Trivia: what is the boiling point of water at sea level? 100 C.")), Drop)
    assert step.size == 1
    partial = doc("What is the boiling point of water at high altitude?")
    assert step(partial) is partial


def test_min_matches_and_fields(eval_sets):
    # The 15-word MMLU question has three 13-grams; the page quotes it whole.
    d = doc("Quiz: " + MMLU[0]["question"] + " Think about ATP.")
    assert Decontamination(eval_sets=eval_sets, min_matches=3)(d).detail.startswith("eval=mmlu.jsonl matches=3 ")
    assert Decontamination(eval_sets=eval_sets, min_matches=4)(d) is d
    # Quoting only 13 of its words is one match.
    one = doc("...the following best describes the primary function of the mitochondria in eukaryotic cells")
    assert Decontamination(eval_sets=eval_sets)(one).detail.startswith("eval=mmlu.jsonl matches=1 ")
    only_choices = Decontamination(eval_sets=eval_sets[:1], fields=["choices"], min_item_words=4)
    assert isinstance(only_choices(doc("This is about energy production through cellular respiration in plants.")), Drop)
    only_answers = Decontamination(eval_sets=eval_sets[:1], fields=["answer"])
    with pytest.raises(ValueError, match="no item"):
        only_answers.setup()


def test_iter_eval_items_and_bad_lines(tmp_path):
    path = write_jsonl(tmp_path / "e.jsonl", [{"a": "x", "b": ["y", {"c": "z"}], "n": 3}])
    assert list(iter_eval_items(path)) == ["x", "y", "z"]
    assert list(iter_eval_items(path, ["b"])) == ["y", "z"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"a": "ok"}\n{not json\n')
    with pytest.raises(ValueError, match="bad.jsonl:2"):
        Decontamination(eval_sets=[str(bad)]).setup()
    with pytest.raises(ValueError):
        registry.build("decontamination", {"eval_sets": []})
    with pytest.raises(TypeError):
        registry.build("decontamination", {"eval_set": [path]})


def test_cjk_eval_item(tmp_path):
    path = write_jsonl(tmp_path / "zh.jsonl", [{"question": "床前明月光，疑是地上霜。举头望明月，低头思故乡。"}])
    step = Decontamination(eval_sets=[path])
    assert isinstance(step(doc("李白《静夜思》：床前明月光，疑是地上霜。举头望明月，低头思故乡。")), Drop)
    other = doc("春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。")
    assert step(other) is other


def test_deterministic(eval_sets):
    d = doc("Which of the following best describes the primary function of the mitochondria in eukaryotic cells today")
    assert Decontamination(eval_sets=eval_sets)(d) == Decontamination(eval_sets=eval_sets)(d)
