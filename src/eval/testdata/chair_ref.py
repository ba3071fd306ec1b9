# Independent CHAIR reference for chair.test.ts: the original chair.py logic (synonyms parsed as the reference,
# two-word rules, toilet/seat rule, mention-level CHAIRi, caption-level CHAIRs, OPERA recall) with NLTK 3.8's
# NLTKWordTokenizer and WordNetLemmatizer (noun POS, as RLHF-V's caption_to_words; WordNet 3.0 from Debian).
# Writes chair_crosscheck.json: synthetic captions, the node words found in each, and the overall metrics.
# Run: /usr/bin/python3 chair_ref.py /path/to/wordnet-dict-with-lexnames
import json, random, re, sys, warnings
warnings.filterwarnings('ignore')
from nltk.corpus.reader.wordnet import WordNetCorpusReader
from nltk.tokenize import NLTKWordTokenizer
wn = WordNetCorpusReader(sys.argv[1], None)
tok = NLTKWordTokenizer()
def lemmatize(w):
    l = wn._morphy(w, 'n')
    return min(l, key=len) if l else w
synonyms = [s.strip().split(', ') for s in open('/work/shared/benchdata/chair_synonyms.txt').readlines()]
objects, inverse = [], {}
for syn in synonyms:
    objects.extend(syn)
    for s in syn: inverse[s] = syn[0]
objset = set(objects)
double = {d: d for d in ['motor bike', 'motor cycle', 'air plane', 'traffic light', 'street light', 'traffic signal', 'stop light', 'fire hydrant', 'stop sign', 'parking meter', 'suit case', 'sports ball', 'baseball bat', 'baseball glove', 'tennis racket', 'wine glass', 'hot dog', 'cell phone', 'mobile phone', 'teddy bear', 'hair drier', 'potted plant', 'bow tie', 'laptop computer', 'stove top oven', 'hot dog', 'teddy bear', 'home plate', 'train track']}
for a in ['bird', 'cat', 'dog', 'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra', 'giraffe', 'animal', 'cub']:
    double['baby %s' % a] = a; double['adult %s' % a] = a
for v in ['jet', 'train']: double['passenger %s' % v] = v
double['bow tie'] = 'tie'; double['toilet seat'] = 'toilet'; double['wine glas'] = 'wine glass'
def word_tokenize(text):
    # nltk.word_tokenize = Punkt sentence split, then NLTKWordTokenizer per sentence. Punkt's data is not on this
    # machine; for these captions (no abbreviations, initials or ellipses, where only its second pass differs) Punkt
    # breaks after every sentence-final '.', '!' or '?' followed by whitespace, which is what this split does.
    return [t for sent in re.split(r'(?<=[.!?])\s+', text) for t in tok.tokenize(sent)]
def caption_to_words(caption):
    words = [lemmatize(w) for w in word_tokenize(caption.lower())]
    i, out = 0, []
    while i < len(words):
        dw = ' '.join(words[i:i + 2])
        if dw in double: out.append(double[dw]); i += 2
        else: out.append(words[i]); i += 1
    n_tokens = len(out)
    if 'toilet' in out and 'seat' in out: out = [w for w in out if w != 'seat']
    words = [w for w in out if w in objset]
    return words, [inverse[w] for w in words], n_tokens
rng = random.Random(2024)
surface = [s for s in objects if not s.startswith(' ') and s == s.lower()]
tricky = ['men', 'women', 'teeth', 'glasses', 'wine glasses', 'toilet seat', 'baby elephant', 'adult bird', 'passenger jet',
          'bow tie', 'hot dogs', "dog's", 't-shirt', 'motor bike', 'cheesecake', 'iPhone', 'skis', 'oxen', 'policemen',
          'people', 'children', 'knives', 'ponies', 'buses', 'benches', 'home plate', 'train track', 'seat', 'tables']
fill = ['a', 'the', 'two', 'some', 'small', 'red', 'on', 'near', 'with', 'and', 'is', 'sitting', 'next', 'to', 'of', 'there']
nodes = sorted(set(inverse.values()) - {''})
records = []
for i in range(300):
    parts = []
    for _ in range(rng.randint(4, 18)):
        r = rng.random()
        if r < 0.25: w = rng.choice(surface); parts.append(w + ('s' if rng.random() < 0.3 else ''))
        elif r < 0.35: parts.append(rng.choice(tricky))
        else: parts.append(rng.choice(fill))
        if rng.random() < 0.08: parts[-1] += rng.choice([',', '.', ';'])
    cap = ' '.join(parts).capitalize() + '.'
    gt = rng.sample(nodes, rng.randint(1, 6))
    words, node_words, n_tokens = caption_to_words(cap)
    records.append({'image_id': i, 'caption': cap, 'objects': gt, 'nodes': node_words, 'tokens': n_tokens})
# overall metrics as chair.py / OPERA compute them (ground truth = the given node words)
hall = mentions = hall_caps = rec = gtn = 0
for r in records:
    gts = set(r['objects']); h = [n for n in r['nodes'] if n not in gts]
    mentions += len(r['nodes']); hall += len(h); hall_caps += 1 if h else 0
    rec += len({n for n in r['nodes'] if n in gts}); gtn += len(gts)
metrics = {'chair_s': hall_caps / len(records), 'chair_i': hall / mentions, 'recall': rec / gtn, 'n_mentions': mentions}
json.dump({'source': 'testdata/chair_ref.py (NLTK 3.8, WordNet 3.0)', 'metrics': metrics, 'records': records},
          open('chair_crosscheck.json', 'w'))
print(metrics)
