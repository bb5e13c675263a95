from refinedweb.data.text import (
    count_letter_words,
    count_letters,
    count_tokens,
    count_sentences,
    split_lines,
    split_paragraphs,
    split_tokens,
    split_words,
)


def test_words_exclude_punctuation_and_keep_inner_marks():
    assert split_words("Don't stop: state-of-the-art, 3.14 (U.S.) end.") == [
        "Don't", "stop", "state-of-the-art", "3.14", "U.S", "end"
    ]


def test_chinese_each_han_character_is_a_word():
    assert split_words("我爱北京天安门。") == ["我", "爱", "北", "京", "天", "安", "门"]


def test_japanese_kana_and_kanji_are_words_and_latin_runs_stay_whole():
    assert split_words("東京はラーメンがPython3で好き") == [
        "東", "京", "は", "ラ", "ー", "メ", "ン", "が", "Python3", "で", "好", "き"
    ]


def test_katakana_middle_dot_and_emoji_variation_selectors_are_not_words():
    assert split_words("カタ・カナ ❤️ ok") == ["カ", "タ", "カ", "ナ", "ok"]


def test_scripts_with_combining_marks_are_not_split_inside_words():
    # Devanagari vowel signs are combining marks (category Mc/Mn): "नमस्ते" is one word.
    assert split_words("नमस्ते दुनिया") == ["नमस्ते", "दुनिया"]
    assert split_words("مرحبا بالعالم") == ["مرحبا", "بالعالم"]


def test_tokens_keep_each_punctuation_character():
    assert split_tokens("Hi, you... #1") == ["Hi", ",", "you", ".", ".", ".", "#", "1"]


def test_lines_and_paragraphs():
    text = "a\n\n\nb\nc\n"
    assert split_lines(text) == ["a", "b", "c", ""]
    assert split_paragraphs(text) == ["a", "b\nc"]


def test_sentences():
    assert count_sentences("") == 0
    assert count_sentences("no terminal mark") == 1
    assert count_sentences("One. Two! Three? Four") == 4
    assert count_sentences('He said "stop." Then left.') == 2
    assert count_sentences("版本3.5发布了。很好！") == 2


def test_token_and_letter_word_counts_agree_with_the_lists():
    text = "Hi, it's 3.14... (really) 100% — 東京 2024!"
    words = split_words(text)
    assert count_tokens(text, words) == len(split_tokens(text)) == 17
    assert count_letter_words(words) == 5  # Hi, it's, really, 東, 京


def test_count_letters_counts_marks_not_digits_or_spaces():
    assert count_letters("ab 12 नम") == 4
