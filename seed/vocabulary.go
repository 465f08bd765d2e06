package seed

// The vocabulary of goods that seeded names are made of. Each noun is equally likely, so
// with about 250 of them a search for one (q=watch, q=camera) finds a few thousand in a
// million auctions; nouns that contain another (camera bag) add to its matches.
var adjectives = []string{
	"Vintage", "Antique", "Rare", "Classic", "Handmade", "Restored", "Mint", "Signed", "Limited edition",
	"Retro", "Modern", "Compact", "Professional", "Portable", "Original", "Boxed", "Collectible",
	"Mid-century", "Art deco", "Victorian", "Japanese", "Swiss", "Italian", "French", "German", "Danish",
	"Brass", "Leather", "Wooden", "Silver", "Gold-plated", "Ceramic", "Cast iron", "Hand-painted",
	"Unused", "Refurbished", "Custom", "Large", "Small", "Well-kept",
}

var nouns = []string{
	"camera", "camera lens", "camera bag", "film camera", "tripod", "flash unit", "light meter", "projector",
	"watch", "pocket watch", "wristwatch", "stopwatch", "wall clock", "alarm clock", "mantel clock", "cuckoo clock",
	"guitar", "bass guitar", "violin", "cello", "ukulele", "banjo", "mandolin", "harmonica", "accordion", "trumpet",
	"saxophone", "clarinet", "flute", "drum kit", "snare drum", "keyboard", "synthesizer", "piano stool", "metronome",
	"turntable", "record player", "vinyl record", "cassette deck", "radio", "tube amplifier", "speaker pair",
	"headphones", "microphone", "mixing desk", "typewriter", "fountain pen", "ink set", "desk lamp", "floor lamp",
	"chandelier", "table lamp", "lantern", "candle holder", "mirror", "picture frame", "oil painting", "watercolour",
	"print", "poster", "sculpture", "figurine", "vase", "bowl", "teapot", "tea set", "coffee grinder", "espresso machine",
	"kettle", "cookware set", "cast pan", "knife set", "cutting board", "wine rack", "decanter", "whisky glasses",
	"champagne flutes", "dinner set", "cutlery set", "serving tray", "cake stand", "jewellery box", "necklace",
	"bracelet", "ring", "brooch", "earrings", "cufflinks", "tie clip", "handbag", "wallet", "briefcase", "suitcase",
	"backpack", "leather jacket", "denim jacket", "coat", "scarf", "hat", "sunglasses", "umbrella", "walking stick",
	"armchair", "sofa", "dining table", "coffee table", "side table", "bookcase", "bookshelf", "desk", "office chair",
	"rocking chair", "stool", "bench", "wardrobe", "chest of drawers", "dresser", "bed frame", "headboard", "rug",
	"carpet", "tapestry", "quilt", "cushion set", "curtains", "clock radio", "television", "games console",
	"controller", "arcade cabinet", "pinball machine", "board game", "chess set", "jigsaw puzzle", "model train",
	"train set", "model car", "model plane", "toy robot", "tin toy", "teddy bear", "doll", "dollhouse", "rocking horse",
	"comic book", "first edition book", "atlas", "encyclopedia set", "map", "globe", "telescope", "microscope",
	"binoculars", "compass", "barometer", "sextant", "ship model", "bicycle", "road bike", "mountain bike",
	"tandem bicycle", "scooter", "skateboard", "surfboard", "snowboard", "skis", "tennis racket", "golf clubs",
	"fishing rod", "tent", "sleeping bag", "camping stove", "kayak", "canoe paddle", "rowing machine", "dumbbells",
	"kettlebell", "yoga mat", "sewing machine", "knitting machine", "loom", "spinning wheel", "pottery wheel",
	"easel", "paint set", "drafting table", "tool chest", "hand plane", "chisel set", "workbench", "anvil",
	"vice", "drill", "saw", "lathe", "toolbox", "lawn mower", "garden bench", "bird bath", "planter", "watering can",
	"wheelbarrow", "weather vane", "sundial", "fountain", "garden gnome", "stamp collection", "coin collection",
	"banknote set", "postcard album", "photo album", "trading cards", "medal", "military cap", "pocket knife",
	"lighter", "cigar box", "pipe", "snuff box", "perfume bottle", "hand mirror", "hairbrush set", "shaving kit",
	"barber chair", "phone", "rotary phone", "smartphone", "tablet", "laptop", "desktop computer", "monitor",
	"printer", "calculator", "slide rule", "abacus", "piggy bank", "music box", "snow globe", "ship in a bottle",
	"hourglass", "weighing scale", "letter scale", "inkwell", "paperweight", "bookends", "magnifying glass",
}

// koreanAdjectives and koreanNouns make one name in ten Korean, and accentedAdjectives
// start one in twenty with an accented Latin word, so that searches in other scripts (a
// Hangul word, a prefix of one, an accented word) have data to find.
var koreanAdjectives = []string{"빈티지", "앤티크", "희귀한", "클래식", "수제", "한정판", "새것같은", "일본산", "스위스", "가죽"}

var koreanNouns = []string{
	"카메라", "카메라 가방", "필름 카메라", "손목시계", "회중시계", "벽시계", "기타", "바이올린", "피아노", "턴테이블",
	"레코드판", "라디오", "헤드폰", "타자기", "만년필", "스탠드", "도자기", "찻잔 세트", "주전자", "가방",
	"지갑", "자전거", "망원경", "지도", "우표 모음", "동전 모음", "인형", "보드게임", "책상", "의자",
}

var accentedAdjectives = []string{"Café", "Élégant", "Müller", "Crème", "Señorita", "Fräulein", "Côte", "Ærø"}

var qualifiers = []string{
	"", "", "", "", "with box", "with papers", "(1960s)", "(1970s)", "(1980s)", "in working order",
	"for restoration", "as new", "pair", "set of two", "collector's piece",
}

var nicknames = []string{
	"neo", "ada", "lin", "marta", "kofi", "yuki", "omar", "ines", "pavel", "sofia", "raj", "lena", "tomas",
	"amara", "hugo", "mei", "diego", "freya", "ivan", "zara", "bo", "nia", "felix", "aiko", "jonas", "lucia",
}

var descriptionLines = []string{
	"Kept in a smoke-free home.", "Shows light signs of use.", "Collected in person or shipped insured.",
	"Everything works as it should.", "From a private collection.", "Original parts throughout.",
	"Cleaned and serviced last year.", "A small mark on one side, see photos.", "Rarely seen in this condition.",
	"Comes with the original receipt.", "Bought new and barely used.", "A lovely piece for any home.",
}
