package data

// Word lists of the generator. Their order is part of the dataset: changing
// them changes every page (bump GeneratorVersion when you do).

var firstNames = []string{
	"Alice", "Ben", "Carla", "Daniel", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas",
	"Kemal", "Lena", "Marco", "Nadia", "Oscar", "Priya", "Quentin", "Rosa", "Samir", "Tess",
	"Umar", "Vera", "Wei", "Ximena", "Yusuf", "Zoe", "Amara", "Bruno", "Chloe", "Dmitri",
	"Eva", "Felix", "Giulia", "Hannah", "Ivan", "Julia", "Kofi", "Lucia", "Mateo", "Nora",
}

var lastNames = []string{
	"Moreno", "Schmidt", "Okafor", "Tanaka", "Novak", "Silva", "Larsen", "Haddad", "Kowalski", "Nguyen",
	"Rossi", "Dubois", "Patel", "Ivanova", "Murphy", "Costa", "Fischer", "Kim", "Jensen", "Alvarez",
	"Brennan", "Sato", "Mensah", "Weber", "Lindqvist", "Horvat", "Petrov", "Garcia", "Chen", "Walsh",
}

var adjectives = []string{
	"Golden", "Quiet", "Misty", "Bright", "Late", "Early", "Blue", "Rainy", "Windy", "Frozen",
	"Sunny", "Old", "Little", "Wild", "Silent", "Autumn", "Summer", "Winter", "Spring", "Evening",
}

var nouns = []string{
	"harbour", "bridge", "market", "garden", "street", "beach", "lake", "forest", "tower", "station",
	"river", "cafe", "rooftop", "meadow", "pier", "alley", "castle", "valley", "lighthouse", "square",
}

var places = []string{
	"Lisbon", "Kyoto", "Oslo", "Cape Town", "Montreal", "Porto", "Hanoi", "Dublin", "Valparaiso", "Tallinn",
	"Marseille", "Istanbul", "Krakow", "Seattle", "Bergen", "Naples", "Reykjavik", "Lyon", "Zagreb", "Busan",
}

// TagNames are the site's tags. The first ten are also the load
// generator's default tag list (bench/ keeps its own copy: it does not
// import data/).
var TagNames = []string{
	"sunset", "beach", "cat", "dog", "city", "night", "mountain", "food", "family", "travel",
	"snow", "flowers", "portrait", "street", "architecture", "bw", "macro", "river", "forest", "friends",
	"concert", "sport", "sky", "garden",
}

var commentOpeners = []string{
	"Great shot!", "Lovely light.", "Wow.", "Beautiful colours.", "Nice one!", "So calm.",
	"Brilliant composition.", "I was there last year!", "Stunning.", "Love this.",
}

var commentTails = []string{
	"", " Which camera?", " The shadows are perfect.", " Reminds me of home.", " More like this please.",
	" How long did you wait for that?", " Framed it on my wall.", " The sky is unreal.",
}
