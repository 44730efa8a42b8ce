"""The words the demo data is written with: names, topics, title, sentence and bio templates.

Templates name their fields `{topic}`, `{Topic}` (capitalised), `{topic2}`, `{thing}`, `{adj}`,
`{metric}`, `{n}` and `{pct}`; `Draws.fill` fills them in. Bios use their own fields.
"""

from __future__ import annotations

FIRST_NAMES = (
    "Ada", "Alan", "Amara", "Ana", "Anders", "Aiko", "Bea", "Bruno", "Camille", "Chen",
    "Chiara", "Dario", "Dmitri", "Elif", "Emeka", "Emma", "Farah", "Felix", "Freya", "Gabriel",
    "Grace", "Hana", "Hugo", "Ingrid", "Ines", "Isaac", "Jonas", "José", "Juno", "Kai",
    "Kenji", "Lars", "Layla", "Léa", "Liam", "Lucía", "Malik", "Maya", "Mei", "Mateo",
    "Nadia", "Nia", "Noah", "Olga", "Omar", "Paula", "Priya", "Rafael", "Ravi", "Rosa",
    "Ruth", "Sami", "Sara", "Søren", "Tariq", "Tess", "Theo", "Uma", "Vera", "Wen",
    "Yara", "Yusuf", "Zoë", "Zainab", "Ilse", "Björn", "Chloé", "Dana", "Eli", "Iris",
)  # fmt: skip
LAST_NAMES = (
    "Abara", "Andersen", "Bauer", "Becker", "Bianchi", "Castro", "Chen", "Costa", "Dubois",
    "Eriksson", "Fischer", "García", "Haddad", "Hansen", "Hoffmann", "Ibrahim", "Ito", "Jansen",
    "Kaya", "Kim", "Kowalski", "Larsen", "Lopez", "Mendes", "Müller", "Nakamura", "Nguyen",
    "Novak", "Okafor", "Olsen", "Patel", "Pereira", "Petrov", "Quinn", "Rossi", "Sato", "Schmidt",
    "Silva", "Singh", "Sousa", "Tanaka", "Torres", "Urban", "Varga", "Vogel", "Wagner", "Walsh",
    "Weber", "Wong", "Yilmaz", "Zhang", "Ziegler", "Åberg", "Ødegaard", "Łukasik", "Núñez",
    "Moreau", "Lindqvist", "Mensah", "Adeyemi", "Kovač", "Horvat", "Reyes", "Fontaine",
)  # fmt: skip

# Tag -> how titles and bodies name the topic.
TOPICS = {
    "python": "Python", "graphql": "GraphQL", "postgres": "PostgreSQL", "mongodb": "MongoDB",
    "rust": "Rust", "javascript": "JavaScript", "typescript": "TypeScript", "web": "the web",
    "api-design": "API design", "databases": "databases", "testing": "testing",
    "performance": "performance work", "security": "security", "devops": "DevOps",
    "architecture": "software architecture", "accessibility": "accessibility",
    "design": "design", "ux": "UX research", "data": "data engineering",
    "machine-learning": "machine learning", "cloud": "the cloud", "linux": "Linux",
    "open-source": "open source", "career": "careers in tech", "mentoring": "mentoring",
    "remote-work": "remote work", "writing": "technical writing", "productivity": "productivity",
    "books": "books", "travel": "travel", "photography": "photography", "cooking": "cooking",
    "gardening": "gardening", "cycling": "cycling", "music": "music", "climate": "climate",
    "science": "science", "history": "history", "education": "education",
    "startups": "startups",
}  # fmt: skip
TAGS = tuple(TOPICS)

THINGS = (
    "keyset pagination", "background jobs", "feature flags", "code review", "on-call rotations",
    "small pull requests", "boring technology", "error budgets", "schema migrations",
    "connection pooling", "load testing", "type hints", "flaky tests", "dependency upgrades",
    "incident reviews", "design systems", "dark mode", "offline-first apps", "rate limiting",
    "caching layers", "a sourdough starter", "a balcony garden", "night trains",
    "film photography", "long-distance cycling", "reading more books", "mechanical keyboards",
    "home networking", "technical interviews", "writing documentation", "pair programming",
    "a four-day week", "public speaking", "learning in public", "side projects",
)  # fmt: skip
ADJECTIVES = (
    "practical", "gentle", "opinionated", "no-nonsense", "slightly chaotic", "visual",
    "pragmatic", "beginner's", "field-tested", "short",
)  # fmt: skip
METRICS = ("latency", "cloud bill", "build time", "error rate", "page weight", "review time")
# Template field -> the words it is filled with.
WORDS = {"thing": THINGS, "adj": ADJECTIVES, "metric": METRICS}

TITLES = (
    "What I learned from {n} years of {topic}",
    "A {adj} guide to {topic}",
    "Why {topic} is harder than it looks",
    "{Topic} in practice: {thing}",
    "Notes on {thing}",
    "How we cut our {metric} by {pct}% with {thing}",
    "{Topic} and {topic2}: a field report",
    "The case against {thing}",
    "{n} things nobody tells you about {topic}",
    "Getting started with {topic}",
    "Revisiting {thing}",
    "Weekend project: {thing}",
    "On {thing}, and why it matters for {topic}",
    "Is {thing} worth it?",
    "Everything I got wrong about {topic}",
)
SENTENCES = (
    "I have been thinking about {thing} for a while now.",
    "The short version: {topic} rewards patience more than cleverness.",
    "Most of the problems we hit came from {thing}, not from {topic} itself.",
    "It took us {n} weeks to notice, and an afternoon to fix.",
    "If you only take one thing away, measure before you change anything.",
    "Our first attempt was {adj} at best.",
    "A colleague suggested we look at {thing} instead.",
    "That turned out to be the right call.",
    "Here is what changed, in order of how much it mattered.",
    "None of this is new, but it is easy to forget under deadline pressure.",
    "The numbers surprised me: {pct}% of the time went into {thing}.",
    "We wrote everything down, which helped more than any tool.",
    "I would do it again, with one exception: {thing}.",
    "People who are new to {topic} tend to underestimate {thing}.",
    "There is a lot of advice about {topic} online, and much of it contradicts itself.",
    "What finally worked was embarrassingly simple.",
    "The second week was the hardest.",
    "Looking back, {thing} was the real turning point.",
    "I asked around, and almost everyone had a story about {thing}.",
    "Your mileage may vary, of course.",
    "Comments and corrections are very welcome.",
    "Next time I will start with {thing} and work backwards.",
)
COMMENTS = (
    "Great write-up, thanks for sharing!",
    "This matches my experience with {topic}.",
    "Have you tried {thing}? It helped us a lot.",
    "I disagree about {thing}, but the rest is spot on.",
    "How did you measure that?",
    "Bookmarked. The part about {thing} is gold.",
    "We ran into the same issue last year.",
    "Could you share more details about the setup?",
    "+1, {thing} is underrated.",
    "Interesting! What would you do differently next time?",
    "I am new to {topic} and this was really helpful.",
    "Sharing this with my team.",
    "The {pct}% figure seems high, is that typical?",
    "Thank you for writing about {topic} so clearly.",
)
REPLIES = (
    "Good point, I had not considered that.",
    "Agreed, although it depends on the team.",
    "We measured it with a simple benchmark, nothing fancy.",
    "Thanks! I might write a follow-up about {thing}.",
    "Fair, but {thing} has costs too.",
    "Same here.",
    "Not in my experience, but I can see why.",
    "Exactly this.",
    "Do you have a link for that?",
    "Ha, we tried that too. It did not end well.",
)

# Profiles. Job titles are what bios say people do (not their roles in the app).
JOB_TITLES = (
    "Software engineer", "Data scientist", "Product designer", "Site reliability engineer",
    "Teacher", "Researcher", "Technical writer", "Freelance developer", "Engineering manager",
    "Student", "Photographer", "Journalist", "Open-source maintainer", "Security engineer",
)  # fmt: skip
HOBBIES = (
    "Cyclist", "Amateur baker", "Board-game collector", "Trail runner", "Birdwatcher",
    "Bookworm", "Climber", "Home cook", "Guitarist", "Gardener",
)  # fmt: skip
BIOS = (
    "{role} in {city}. Writing about {topic} and {topic2}.",
    "{role}. Mostly {topic}, sometimes {topic2}.",
    "Curious about {topic}. {hobby} on weekends.",
    "{role} at a small company. Opinions my own.",
    "{hobby}, {role_lower}, and occasional writer about {topic}.",
)
CITIES = (
    "Lisbon, Portugal", "Nairobi, Kenya", "Toronto, Canada", "Berlin, Germany", "Osaka, Japan",
    "São Paulo, Brazil", "Melbourne, Australia", "Bengaluru, India", "Oslo, Norway",
    "Mexico City, Mexico", "Lagos, Nigeria", "Seoul, South Korea", "Dublin, Ireland",
    "Montréal, Canada", "Cape Town, South Africa", "Kraków, Poland", "Istanbul, Türkiye",
    "Hanoi, Vietnam", "Austin, USA", "Edinburgh, UK", "Valparaíso, Chile", "Tallinn, Estonia",
)  # fmt: skip
LINKS = (
    "https://{host}.example.com",
    "https://code.example.org/{handle}",
    "https://social.example.net/@{handle}",
)
