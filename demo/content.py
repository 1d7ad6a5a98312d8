"""The demo program's text: our own plain words, editable afterwards in the admin.

`seed_demo` reads these structures; nothing else does. Each lesson names the sample media file
(demo/media/<sample>.*) its demo video is made from.
"""

PROGRAM = {
    "title": "Comforting Your S-I Joints",
    "slug": "comforting-your-si-joints",
    "summary": (
        "A self-paced program of slow, gentle movements that teach the muscles around your "
        "pelvis to let go, so your sacroiliac joints can settle and move comfortably again."
    ),
    "description": """\
This program is a series of short movement lessons done in a fixed order. Each lesson teaches one
slow movement, called an *action pattern*, that you do lying or sitting, at your own pace.

The movements use **pandiculation**: you gently tighten a group of muscles, then lengthen it very
slowly, then rest completely. It is the same thing your body does in a morning stretch and yawn.
Done with attention, it reminds the brain how to relax muscles that have stayed tight for a long
time, including the muscles that pull unevenly on the sacroiliac (S-I) joints.

- **Unit 1 is free.** Start there: it shows you how to practise and lets you feel whether this
  way of working suits you.
- Every later unit builds on the one before and says what you can expect from it.
- You buy once and keep access for life, with a lifetime satisfaction guarantee.

Practise for ten to twenty minutes a day, never into pain. If a movement hurts, make it smaller
and slower, or skip it and come back later.
""",
    "price_cents": 9700,
    "currency": "usd",
}

UNITS = [
    {
        "slug": "getting-started",
        "title": "Unit 1: Getting started",
        "is_free": True,
        "summary": (
            "How to practise slowly and safely, and the first movement of the program: a gentle "
            "rocking of the pelvis that wakes up the muscles of the low back and belly."
        ),
        "expected_result": (
            "You know how to do a slow, comfortable pandiculation, and you can feel your low back "
            "soften against the floor after the pelvic rock."
        ),
        "lessons": [
            {
                "slug": "how-to-practise",
                "title": "How to practise",
                "sample": "welcome",
                "duration_seconds": 360,
                "uses_working_side": False,
                "instructions": """\
Welcome. This first lesson has no exercise to get right: it shows you **how** to move.

## Where to practise

- Lie on your back on a carpet, a mat or a firm bed, with your knees bent and feet flat.
- Put a thin cushion under your head if your chin points up to the ceiling.
- Keep the room warm. Cold muscles do not like to let go.

## The three steps of every movement

1. **Tighten gently**, about a third of your strength. Never squeeze hard.
2. **Lengthen slowly**, taking three or four times longer than the tightening.
3. **Rest completely** and notice what changed. The rest is part of the exercise.

## Three rules

- Stay in the comfortable range. If something hurts, make the movement smaller.
- Slower is better than bigger.
- Breathe out as you let go.
""",
            },
            {
                "slug": "pelvic-rock",
                "title": "The pelvic rock",
                "sample": "pelvic-rock",
                "duration_seconds": 540,
                "uses_working_side": False,
                "instructions": """\
The pelvic rock gently moves your pelvis forwards and back, so the muscles of your low back and
belly take turns to work and to rest.

1. Lie on your back, knees bent, feet flat and hip-width apart.
2. Breathe in and let your low back **arch** a little, lifting it a few centimetres off the floor.
   Your tailbone presses lightly down.
3. Breathe out and **slowly flatten** your low back onto the floor, as if pressing it gently into
   the carpet. Take five to ten seconds to do it.
4. Let go completely and rest for a few breaths.

Repeat five or six times. Make each movement a little slower than the one before.

## What to notice

Does your low back rest more easily on the floor afterwards? Is one side of your pelvis heavier
than the other? There is no right answer; just notice.
""",
            },
            {
                "slug": "resting-and-noticing",
                "title": "Resting and noticing",
                "sample": "knee-sway",
                "duration_seconds": 300,
                "uses_working_side": False,
                "instructions": """\
A short lesson to end each practice: you let the knees sway gently and then rest and notice.

1. Lie on your back, knees bent and together.
2. Let both knees tip **a little** to the right, only as far as is easy, then bring them back to
   the middle. Then a little to the left.
3. Keep your shoulders heavy on the floor. Move slowly, as if through honey.
4. After five or six sways each way, stretch your legs out long and rest for a minute.

Notice how your back, hips and breathing feel now compared with when you started.
""",
            },
        ],
    },
    {
        "slug": "releasing-the-back",
        "title": "Unit 2: Releasing the back of the body",
        "is_free": False,
        "summary": (
            "Gentle lifts lying on your front teach the long muscles of the back and the "
            "buttocks to tighten evenly and then let go, one side at a time."
        ),
        "expected_result": (
            "Standing up after practice feels lighter, and the muscles on either side of your "
            "lower back feel more alike."
        ),
        "lessons": [
            {
                "slug": "back-lift",
                "title": "The back lift",
                "sample": "pelvic-rock",
                "duration_seconds": 600,
                "uses_working_side": False,
                "instructions": """\
1. Lie on your front with a pillow under your belly if that is more comfortable. Rest your
   forehead on your hands.
2. Breathe in and **lift your head, elbows and hands** just a little, using your back muscles.
3. Hold for a breath, then **lower very slowly**, taking twice as long as the lift.
4. Rest completely with your cheek on your hands.

Repeat four or five times. Keep the lift small: a few centimetres is enough.
""",
            },
            {
                "slug": "leg-lift",
                "title": "The single leg lift",
                "sample": "knee-sway",
                "duration_seconds": 600,
                "uses_working_side": True,
                "instructions": """\
This lesson is done on your **working side** first. Your journal tells you which side that is
today.

1. Lie on your front, forehead resting on your hands.
2. Keeping the knee straight but soft, **lift the leg of your working side** a little off the
   floor. Feel the buttock and the back muscles on that side tighten.
3. **Lower it slowly**, lengthening the leg away from you as it comes down.
4. Rest, and compare the two sides of your back.

Do it four times on the working side, then twice on the other side.
""",
            },
        ],
    },
    {
        "slug": "releasing-the-sides",
        "title": "Unit 3: Releasing the sides of the waist",
        "is_free": False,
        "summary": (
            "The muscles at the side of the waist can hitch one hip higher than the other. These "
            "movements teach them to lengthen, so the pelvis can sit level."
        ),
        "expected_result": (
            "Your legs feel closer to the same length when you lie down, and walking feels more "
            "even from side to side."
        ),
        "lessons": [
            {
                "slug": "side-curl",
                "title": "The side curl",
                "sample": "pelvic-rock",
                "duration_seconds": 600,
                "uses_working_side": True,
                "instructions": """\
1. Lie on the side that is **not** your working side, knees bent, head on your arm or a pillow.
2. Put your top hand behind your head. Gently **lift your head and your top knee** towards each
   other, shortening the side of your waist.
3. **Lower both slowly**, letting the waist lengthen.
4. Rest.

Repeat four or five times, then roll onto your back and notice the difference between the sides.
""",
            },
            {
                "slug": "hip-hike",
                "title": "The hip hike",
                "sample": "knee-sway",
                "duration_seconds": 480,
                "uses_working_side": True,
                "instructions": """\
1. Lie on your back with both legs long.
2. **Draw the hip of your working side up towards your ribs**, so that leg seems to become
   shorter. The leg slides along the floor; it does not lift.
3. **Let the hip slide slowly back down**, and let the leg lengthen.
4. Rest and compare the length of your legs.

Four or five times on the working side, then twice on the other.
""",
            },
            {
                "slug": "waist-rest",
                "title": "Resting on your back",
                "sample": "welcome",
                "duration_seconds": 240,
                "uses_working_side": False,
                "instructions": """\
Finish this unit with the pelvic rock from Unit 1, done three times very slowly, and then rest
with your legs long for a minute. Notice where your back touches the floor.
""",
            },
        ],
    },
    {
        "slug": "rotation-and-walking",
        "title": "Unit 4: Rotation and walking",
        "is_free": False,
        "summary": (
            "Gentle turning movements free the connection between the ribs and the pelvis, and a "
            "walking practice brings the new ease into everyday life."
        ),
        "expected_result": (
            "Turning to look behind you and walking for longer are more comfortable, and you have "
            "a short daily routine to keep your S-I joints at ease."
        ),
        "lessons": [
            {
                "slug": "gentle-twist",
                "title": "The gentle twist",
                "sample": "knee-sway",
                "duration_seconds": 600,
                "uses_working_side": True,
                "instructions": """\
1. Lie on your back, knees bent, arms out to the sides.
2. Let both knees drop **slowly** towards your working side while your head turns the other way.
   Go only as far as is easy.
3. Gently press the knees a little further down for a breath, then **bring them back** to the
   middle very slowly.
4. Rest, and then repeat towards the other side.
""",
            },
            {
                "slug": "walking-practice",
                "title": "Walking practice",
                "sample": "welcome",
                "duration_seconds": 420,
                "uses_working_side": False,
                "instructions": """\
1. Stand with your feet hip-width apart, near a wall or a chair you can touch.
2. Shift your weight slowly onto your right foot, and let your left hip drop a little. Then
   shift onto your left foot.
3. Now walk slowly across the room, letting your hips swing a little from side to side, and
   your arms swing freely.

Walk for two or three minutes. Notice whether each step lands more evenly than before.
""",
            },
        ],
    },
]

# The safety check on the Today page (staff edit these in the admin, under Practice settings):
# asked before practice when pain is at or above the threshold or the member opts in; the
# gentle lessons are offered on days of high pain.
PAIN_THRESHOLD = 7
GENTLE_LESSONS = ("resting-and-noticing", "waist-rest")
WARNING_SIGNS = [
    "New numbness in the groin, buttocks or inner thighs",
    "New trouble controlling your bladder or bowels",
    "Weakness in a leg that is getting worse",
    "Fever, or feeling generally unwell, with the pain",
    "Pain after a recent fall or accident that has not been checked",
]

ARTICLES = [
    {
        "page": "home",
        "slug": "si-joint-dysfunction",
        "title": "S-I joint dysfunction: what it is and what helps",
        "summary": (
            "Why the sacroiliac joints hurt, how to recognise the pattern, and why gentle "
            "muscle re-education helps where rest and stretching often do not."
        ),
        "body": """\
If you have a deep ache on one side of your lower back, just beside the bony ridge at the top of
your buttock, and it gets worse when you stand on one leg, climb stairs or turn over in bed, your
sacroiliac (S-I) joints may be part of the story. This article explains what those joints are,
why they become painful, and what you can do about it yourself.

## What and where the S-I joints are

Your pelvis is a ring of bone. At the back, the **sacrum** (the flat, triangular bone at the base
of your spine) sits between the two halves of the pelvis. The two places where they meet are the
sacroiliac joints, one on each side. You can find them roughly under the two dimples at the top
of your buttocks.

These joints move only a little, a few millimetres, but that little movement matters. It lets the
pelvis absorb the shock of every step and pass the weight of your upper body down into your legs.
Strong ligaments hold the joints together, and many large muscles cross them or pull on the
bones around them: the low back muscles, the buttocks, the deep hip muscles, the muscles at the
sides of the waist and the belly.

## Why they become painful

S-I joint pain rarely starts in the joint itself. Much more often, the muscles around the pelvis
have become **habitually tight**, usually more on one side than the other. This can follow:

- a fall, a slip or a car accident, when the body braced hard to protect itself;
- pregnancy and childbirth, when ligaments soften and muscles work hard to hold the pelvis;
- long hours of sitting, driving or standing on one leg at work;
- a limp or a change in how you walk after a knee, hip or ankle problem;
- long periods of stress, when the muscles of the back and belly stay on guard.

When muscles stay tight for weeks or months, the brain stops sensing them clearly. It loses the
ability to let them fully relax, even at rest. One side of the pelvis is then held slightly
higher, or rotated, compared with the other. The joints are pulled unevenly, the ligaments are
strained, and the area becomes sore and easily irritated.

## Why rest, massage and stretching often help only for a while

Rest lets the irritation calm down, but does not change how the muscles are held. Massage and
manipulation can bring real relief, yet the tightness often returns within days, because the
brain's habit of holding the muscles has not changed. Stretching pulls on muscles the brain is
still holding tight; the body often protects itself by tightening even more.

## What helps: teaching the muscles to let go

The movements in this program use **pandiculation**: a gentle, voluntary tightening of a group of
muscles, followed by a slow, controlled lengthening, and then complete rest. This is what animals
and people do naturally when they stretch and yawn after sleep. Done slowly and with attention,
it gives the brain clear feedback about muscles it had lost track of, and it can then relax them
again by itself.

Because the work comes from your own nervous system, the change tends to last, and you can repeat
it whenever the old pattern returns. The movements are small and slow, done lying down or sitting,
and they should never hurt.

## What you can expect

Many people notice a difference after the first few sessions: the back rests more easily on the
floor, standing up feels lighter, one hip no longer feels "stuck". Lasting change usually takes
some weeks of short daily practice. The program is built in units that each say what they are
expected to bring, so you can judge your progress for yourself.

## When to see a doctor first

This program is for the common, muscular kind of S-I joint pain. See a doctor before you start,
or straight away, if you have any of these:

- pain after a serious fall or accident that has not been checked;
- numbness in the groin or inner thighs, or new trouble controlling your bladder or bowels;
- weakness in a leg that is getting worse;
- fever, unexplained weight loss, or pain that is worse at night and does not change with
  position;
- a history of cancer, or a diagnosed inflammatory condition of the spine.

## How to begin

Read the [symptoms page](/symptoms/) to see whether the pattern sounds familiar, try the
[self-check](/self-check/) to feel which side is tighter, and then start Unit 1 of the program:
it is free, and it teaches you how to practise safely.
""",
    },
    {
        "page": "symptoms",
        "slug": "symptoms",
        "title": "Symptoms of S-I joint dysfunction, by body region",
        "summary": "Where S-I joint trouble is usually felt, from the low back to the feet.",
        "body": """\
S-I joint problems are felt in more places than the joint itself. These are the symptoms people
describe most often, grouped by where they are felt. You may have only a few of them.

## Lower back and buttock

- A deep ache on one side, just below the waistband, beside the dimple at the top of the buttock.
- Pain that is worse after sitting for a long time, and when you first stand up.
- Stiffness in the morning that eases as you move about.
- A feeling that one side of the back is "locked" or "out".

## Hip and groin

- Pain at the side of the hip, or deep in the groin on the same side.
- Discomfort lifting the leg into the car, or crossing your legs.
- A clicking or clunking feeling around the pelvis.

## Leg and knee

- Pain spreading into the back or side of the thigh, usually stopping above the knee.
- One leg feeling shorter or heavier than the other.
- Knee discomfort on one side from walking unevenly.

## Feet and walking

- Walking with a slight limp, or tiring quickly when walking.
- Discomfort standing on one leg, for example when putting on trousers or climbing stairs.
- Wearing one shoe more on one side.

## Sleep and daily life

- Pain turning over in bed, and difficulty finding a comfortable position.
- Pain getting in and out of the car or the bath.
- Tiredness from sleeping poorly.

## When it may be something else

Pain that runs below the knee into the foot with tingling or numbness, weakness in the leg, or any
of the warning signs on the [home page](/) needs a doctor's opinion first.
""",
    },
    {
        "page": "self-check",
        "slug": "self-check",
        "title": "Self-check: which side is tighter?",
        "summary": "A two-minute check lying on your back, with a short video.",
        "video_sample": "self-check",
        "body": """\
This short check helps you notice which side of your pelvis is held tighter. The program calls it
your **working side**: some lessons begin there.

## How to do the check

1. Lie on your back with your legs long, arms by your sides. Take a few easy breaths.
2. Notice where your back touches the floor. Is one buttock heavier, or one side of the low back
   further from the floor?
3. Slowly slide one heel a little further away from you, then the other. Which leg seems longer?
   Which one moves more easily?
4. Bend your knees and let them tip a little to one side and then the other. Which way do they go
   more easily?

## What the answers mean

The side that feels **lighter, shorter, or moves less easily** is usually the side held tighter.
If you cannot tell, that is fine: choose "can't tell", start with the left, and check again
after a week of practice.

Write down what you noticed and how much pain you have (0 to 10). Members can record this in
their practice journal before each session.
""",
    },
    {
        "page": "practitioner",
        "slug": "practitioner",
        "title": "About the practitioner, and how to get in touch",
        "summary": "Who made this program, and how to contact us.",
        "body": """\
This program was made by a practitioner of clinical somatic education who has worked for many
years with people in chronic pain, many of them with long-standing S-I joint and low back
trouble.

*This is demo text: replace it in the admin with the practitioner's own story, training and
photograph.*

## How we work

We teach; we do not diagnose or treat. Our aim is to help you learn to release your own muscles,
so that you are no longer dependent on someone else to feel better.

## Contact

- Email: [hello@example.com](mailto:hello@example.com)
- Telephone: +1 555 0100 (weekdays, 9:00 to 17:00)

We answer every message within two working days. For a longer conversation about your situation,
ask for a free functional assessment or read about [mentoring](/articles/mentoring/).
""",
    },
    {
        "page": "guarantee",
        "slug": "guarantee",
        "title": "Our lifetime satisfaction guarantee",
        "summary": "If the program does not help you, you get your money back, at any time.",
        "body": """\
We want you to try the program without worrying about the money.

## What the guarantee covers

If the program does not help you, ask for a refund **at any time**: there is no time limit. You
do not have to give a reason, though we are glad to hear one.

## How to ask

Sign in, open "Your purchases" and choose "Ask for a refund". You will see the status of your
request there, and we will email you when it is done.

## What happens then

We refund the full price to the card you paid with. Your access to the paid units then ends.
Unit 1, your account and your practice journal stay yours.

If a refund to your card is no longer possible (banks limit how old a card payment can be), we
will contact you and refund you another way.
""",
    },
    {
        "page": "privacy",
        "slug": "privacy",
        "title": "Privacy",
        "summary": "What we keep about you, why, and how to have it removed.",
        "body": """\
We keep only what we need to give you the program and to answer you.

## What we keep

- Your email address and name, to let you sign in and to write to you.
- Your purchases and refunds, because the law requires us to keep financial records.
- Your practice journal (sides and pain scores), only if you use it. These are health notes:
  only you and our staff can see them, and you can export or delete them at any time.
- Messages and forms you send us.

## What we do not do

We do not sell or share your data for advertising. We use no tracking or advertising cookies.
Payments are handled by Stripe; we never see or store your card number.

## Your rights

Signed in, you can download a copy of everything we hold about you (your account's "Your data"
page), change your e-mail address, or delete your account yourself ("Delete account"). Deleting
your account removes your personal data; anonymised financial records stay as the law requires.
The periods below are how long each kind of record is kept.

Write to [privacy@example.com](mailto:privacy@example.com) with any question.
""",
    },
    {
        "page": "mentoring",
        "slug": "mentoring",
        "title": "Mentoring",
        "summary": "Personal guidance while you work through the program.",
        "body": """\
Some people like to work through the program with personal guidance. Mentoring gives you a
series of video calls with the practitioner, who watches how you do the movements, answers your
questions, and helps you choose what to practise next.

## Who it is for

- People who have had pain for a long time and want support along the way.
- People who are not sure they are doing the movements correctly.
- Practitioners who want to use these movements with their own clients.

## How it works

Send a request with a few words about your situation. We reply within two working days to
arrange a first call, and we agree the number of sessions together.
""",
    },
]

ACCOUNTS = [
    {"email": "admin@example.com", "name": "Demo Admin", "staff": True},
    {"email": "member@example.com", "name": "Demo Member", "staff": False, "access": True},
    {"email": "free@example.com", "name": "Demo Visitor", "staff": False},
]
