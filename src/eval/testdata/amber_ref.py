# Independent python3 run of AMBER inference.py's discriminative arithmetic (counters seeded from data/metrics.txt,
# round(x*100, 1), F1 from rounded P/R) on synthetic responses; its output is the expected block in amber.test.ts.
import json
ann = json.load(open('/work/shared/benchdata/amber_annotations.json'))
POOL = ['Yes', 'No', 'yes', 'No.', '', 'No', 'Yes', 'No']
resp = []
for a in ann:
    if a['type'] == 'generative': continue
    k = ((a['id'] * 1103515245 + 12345) % 2147483648 // 65536 + (3 if a['truth'] == 'yes' else 0)) % len(POOL)
    resp.append({'id': a['id'], 'response': POOL[k]})
m = {}
for pre in ['', 'as_', 'an_', 'aa_', 'ha_', 'asso_']:
    for k in ['qa_correct', 'qa_no', 'qa_ans_no']:
        m[pre + k + '_score'] = 0; m[pre + k + '_num'] = 0.001
P = {'discriminative-attribute-state': 'as_', 'discriminative-attribute-number': 'an_', 'discriminative-attribute-action': 'aa_', 'discriminative-hallucination': 'ha_'}
for r in resp:
    a = ann[r['id'] - 1]; p = P.get(a['type'], 'asso_'); x = r['response']
    m['qa_correct_num'] += 1; m[p + 'qa_correct_num'] += 1
    if a['truth'] == 'yes':
        if x == 'Yes': m['qa_correct_score'] += 1; m[p + 'qa_correct_score'] += 1
    else:
        m['qa_no_num'] += 1; m[p + 'qa_no_num'] += 1
        if x == 'No':
            m['qa_correct_score'] += 1; m['qa_no_score'] += 1; m[p + 'qa_correct_score'] += 1; m[p + 'qa_no_score'] += 1
    if x == 'No':
        m['qa_ans_no_num'] += 1; m[p + 'qa_ans_no_num'] += 1
        if a['truth'] == 'no': m['qa_ans_no_score'] += 1; m[p + 'qa_ans_no_score'] += 1
def blk(pre, eps):
    A = round(m[pre + 'qa_correct_score'] / m[pre + 'qa_correct_num'] * 100, 1)
    Pr = round(m[pre + 'qa_ans_no_score'] / m[pre + 'qa_ans_no_num'] * 100, 1)
    R = round(m[pre + 'qa_no_score'] / m[pre + 'qa_no_num'] * 100, 1)
    F = round(2 * (Pr/100) * (R/100) / ((Pr/100) + (R/100) + eps) * 100, 1)
    return [A, Pr, R, F]
s = lambda k: sum(m[p + k] for p in ['as_', 'an_', 'aa_'])
aA = round(s('qa_correct_score') / s('qa_correct_num') * 100, 1)
aP = round(s('qa_ans_no_score') / s('qa_ans_no_num') * 100, 1)
aR = round(s('qa_no_score') / s('qa_no_num') * 100, 1)
aF = round(2 * (aP/100) * (aR/100) / ((aP/100) + (aR/100) + 0.0001) * 100, 1)
print(json.dumps({'n': len(resp), 'overall': blk('', 0.0001), 'existence': blk('ha_', 0.001), 'attribute': [aA, aP, aR, aF],
  'state': blk('as_', 0.0001), 'number': blk('an_', 0.0001), 'action': blk('aa_', 0.0001), 'relation': blk('asso_', 0.0001)}))
