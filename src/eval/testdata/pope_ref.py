# Independent python3 re-implementation of the three POPE rules (POPE evaluate.py, lmms-eval utils.py,
# VLMEvalKit YOrN_Extraction); its printed values are the expected figures in pope.test.ts.
import json, re
POOL = ["Yes", "No", "yes", "no", "NO", "Not sure", "I don't think so", "Yes, there is one in the image.",
        "No, there is not.", "There is no such object in the image.", "", "Yes\nThere is", "No\nThere is nothing",
        "The value is 1.5 no", "yes.", "Unknown", "There are 2. No", "I cannot tell", "no, definitely not", "Yes!",
        " yes ", "No.", "Yes, and no.", "(yes)", "not"]
qs = [json.loads(l) for l in open('/work/shared/benchdata/coco_pope_adversarial.json')]
ans = []
for q in qs:
    k = ((q['question_id'] * 1103515245 + 12345) % 2147483648 // 65536 + (11 if q['label'] == 'yes' else 0)) % len(POOL)
    ans.append(POOL[k])
labels = [q['label'] for q in qs]

def pope(ans):
    preds = []
    for text in ans:
        if text.find('.') != -1: text = text.split('.')[0]
        text = text.replace(',', '')
        words = text.split(' ')
        preds.append('no' if ('No' in words or 'not' in words or 'no' in words) else 'yes')
    TP=FP=TN=FN=0
    for p,l in zip(preds, labels):
        if p=='yes' and l=='yes': TP+=1
        elif p=='yes' and l=='no': FP+=1
        elif p=='no' and l=='no': TN+=1
        else: FN+=1
    P=TP/(TP+FP); R=TP/(TP+FN)
    return dict(accuracy=(TP+TN)/len(ans), precision=P, recall=R, f1=2*P*R/(P+R), yes_ratio=preds.count('yes')/len(preds), tp=TP, fp=FP, tn=TN, fn=FN)

def lmms(ans):
    res = [dict(prediction=a.lower().strip(), ground_truth=l, score=1.0 if a.lower().strip()==l else 0.0) for a,l in zip(ans, labels)]
    acc = sum(r['score'] for r in res)/len(res)
    tp=sum(1 for r in res if r['ground_truth']=='yes' and r['prediction']=='yes')
    fp=sum(1 for r in res if r['ground_truth']=='no' and r['prediction']=='yes')
    fn=sum(1 for r in res if r['ground_truth']=='yes' and r['prediction']=='no')
    P = tp/(tp+fp) if tp+fp>0 else 0; R = tp/(tp+fn) if tp+fn>0 else 0
    f1 = 2*P*R/(P+R) if P+R>0 else 0
    yr = sum(1 for r in res if r['ground_truth']=='yes')/len(res)
    return dict(accuracy=acc, precision=P, recall=R, f1=f1, yes_ratio=yr)

period_strip = re.compile(r"(?!<=\d)(\.)(?!\d)")
comma_strip = re.compile(r"(\d)(\,)(\d)")
punct = [';', r"/", '[', ']', '"', '{', '}', '(', ')', '=', '+', '\\', '_', '-', '>', '<', '@', '`', ',', '?', '!']
def process_punctuation(inText):
    outText = inText
    for p in punct:
        if (p + ' ' in inText or ' ' + p in inText) or (re.search(comma_strip, inText) != None):
            outText = outText.replace(p, '')
        else:
            outText = outText.replace(p, ' ')
    outText = period_strip.sub("", outText, re.UNICODE)
    return outText
def yorn(o):
    words = process_punctuation(o.lower()).split()
    if 'yes' in words and 'no' not in words: return 'Yes'
    if 'yes' not in words and 'no' in words: return 'No'
    return 'Unknown'
def vlm(ans):
    ex = [yorn(a) for a in ans]
    gt = ['Yes' if l=='yes' else 'No' for l in labels]
    score = [g==e for g,e in zip(gt, ex)]
    yt=[1 if g=='Yes' else 0 for g in gt]; yp=[1 if e=='Yes' else 0 for e in ex]
    tp=sum(1 for a,b in zip(yt,yp) if a==1 and b==1); fp=sum(1 for a,b in zip(yt,yp) if a==0 and b==1); fn=sum(1 for a,b in zip(yt,yp) if a==1 and b==0)
    P = tp/(tp+fp) if tp+fp else 0; R= tp/(tp+fn) if tp+fn else 0; f1 = 2*P*R/(P+R) if P+R else 0
    return dict(accuracy=sum(score)/len(score), precision=P, recall=R, f1=f1, unknown=ex.count('Unknown'))
print(json.dumps(dict(pope=pope(ans), lmms=lmms(ans), vlm=vlm(ans)), indent=1))
# 40 periods: process_punctuation count quirk
s = 'no' + '. yes' * 0 + ' .' * 40 + 'x'
print(repr(process_punctuation('a.' * 40)), yorn('yes' + '.'*40 + 'no.'))
for t in ["NO", "Not sure", "don't", "1.5 no", "", "No\nThere", "Yes, there is.", "yes-no", "yes/no", "no, 3,000 yes", "(yes)", "yes.no", "It is 2.5 no"]:
    print(repr(t), yorn(t), repr(process_punctuation(t.lower())))
