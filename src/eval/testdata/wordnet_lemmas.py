# Generates ../data/wordnet-noun-lemmas.json: NLTK 3.8 WordNetLemmatizer (noun POS, WordNet 3.0 from Debian
# wordnet-base) applied to every word of the CHAIR synonym list / two-word rules and to their inflected forms.
# Only entries whose lemma differs from the form are stored; forms in the table that are absent map to themselves.
# Run: /usr/bin/python3 wordnet_lemmas.py /path/to/wordnet-dict-with-lexnames
import json, sys, warnings
warnings.filterwarnings('ignore')
from nltk.corpus.reader.wordnet import WordNetCorpusReader
wn = WordNetCorpusReader(sys.argv[1], None)
def lemmatize(w):  # nltk/stem/wordnet.py (3.8): min(lemmas, key=len) if lemmas else word
    l = wn._morphy(w, 'n')
    return min(l, key=len) if l else w
syn = [l.strip().split(', ') for l in open('/work/shared/benchdata/chair_synonyms.txt') if l.strip()]
extra = ['motor bike', 'motor cycle', 'air plane', 'traffic light', 'street light', 'traffic signal', 'stop light',
  'fire hydrant', 'stop sign', 'parking meter', 'suit case', 'sports ball', 'baseball bat', 'baseball glove',
  'tennis racket', 'wine glass', 'hot dog', 'cell phone', 'mobile phone', 'teddy bear', 'hair drier',
  'potted plant', 'bow tie', 'laptop computer', 'stove top oven', 'home plate', 'train track', 'toilet seat',
  'animal', 'cub', 'baby', 'adult', 'passenger', 'jet', 'train', 'glass']
# ShapeWorld's categories too, so its CHAIR uses the same table
shapes = ['circle', 'square', 'triangle', 'star', 'cross', 'heart', 'diamond', 'ring', 'hexagon', 'arrow', 'moon', 'oval']
vocab = set()
for line in syn:
    for s in line:
        for w in s.strip().lower().split(): vocab.add(w)
for s in extra + shapes:
    for w in s.split(): vocab.add(w)
IRR = {'man': 'men', 'woman': 'women', 'child': 'children', 'mouse': 'mice', 'goose': 'geese', 'tooth': 'teeth',
       'foot': 'feet', 'ox': 'oxen', 'person': 'persons', 'knife': 'knives', 'wife': 'wives', 'leaf': 'leaves',
       'shelf': 'shelves', 'calf': 'calves', 'half': 'halves', 'wolf': 'wolves', 'scarf': 'scarves', 'life': 'lives'}
forms = set()
for w in vocab:
    forms |= {w, w + 's', w + 'es'}
    if w.endswith('y'): forms.add(w[:-1] + 'ies')
    if w.endswith('f'): forms.add(w[:-1] + 'ves')
    if w.endswith('fe'): forms.add(w[:-2] + 'ves')
    if w.endswith('man'): forms.add(w[:-3] + 'men')
    if w in IRR: forms.add(IRR[w])
table = {f: lemmatize(f) for f in sorted(forms)}
diff = {f: l for f, l in table.items() if l != f}
out = {'source': 'NLTK 3.8 WordNetLemmatizer, noun POS, WordNet 3.0 (Debian wordnet-base 1:3.0-37)',
       'forms': sorted(forms), 'lemmas': diff}
json.dump(out, open('../data/wordnet-noun-lemmas.json', 'w'), indent=0, sort_keys=True)
print(len(vocab), 'vocabulary words,', len(forms), 'forms,', len(diff), 'changed by lemmatisation')
