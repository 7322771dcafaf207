/**
 * The subjects the demo seed library holds: the 37 breeds of the Oxford-IIIT Pet dataset.
 * `name` is the dataset's label (cats capitalised, dogs lower-case with underscores) because
 * that is what the seed photos are tagged with; the rest is what a marketer reads.
 * Kept as code so the agent works without the dataset folder next to it.
 */

export type Species = 'cat' | 'dog';

export interface CatalogueSubject {
  /** the dataset label, e.g. `english_cocker_spaniel` */
  readonly name: string;
  /** how people write it, e.g. `English cocker spaniel` */
  readonly displayName: string;
  readonly species: Species;
  readonly size: 'toy' | 'small' | 'medium' | 'large' | 'giant';
  /** the first half of the reason shown to the marketer */
  readonly traits: string;
  /** the audience it suits: the second half of the reason */
  readonly fitsAudience: string;
  /** other names people use for it (nicknames, common misspellings) */
  readonly aliases?: readonly string[];
}

export const PET_BREED_CATALOGUE: readonly CatalogueSubject[] = [
  // cats
  { name: 'Abyssinian', displayName: 'Abyssinian', species: 'cat', size: 'medium', traits: 'Curious, athletic and endlessly playful, loves to climb and explore', fitsAudience: 'active households who want an engaging, playful cat', aliases: ['aby'] },
  { name: 'Bengal', displayName: 'Bengal', species: 'cat', size: 'medium', traits: 'Wild leopard-spotted look, high energy, loves climbing and even water play', fitsAudience: 'adventurous, active cat owners who like something exotic' },
  { name: 'Birman', displayName: 'Birman', species: 'cat', size: 'medium', traits: 'Gentle, calm and affectionate, silky colour-pointed coat with white paws', fitsAudience: 'quiet homes and apartment-dwelling cat lovers', aliases: ['sacred cat of burma'] },
  { name: 'Bombay', displayName: 'Bombay', species: 'cat', size: 'medium', traits: 'Sleek glossy black coat, people-oriented and happy indoors', fitsAudience: 'city dwellers who want an affectionate apartment cat' },
  { name: 'British_Shorthair', displayName: 'British Shorthair', species: 'cat', size: 'medium', traits: 'Calm, easygoing and independent, with a plush blue-grey coat', fitsAudience: 'busy professionals in apartments who want a low-maintenance cat', aliases: ['british blue'] },
  { name: 'Egyptian_Mau', displayName: 'Egyptian Mau', species: 'cat', size: 'medium', traits: 'Elegant spotted coat, the fastest domestic cat, athletic and loyal', fitsAudience: 'active owners who like an elegant, sporty cat', aliases: ['mau'] },
  { name: 'Maine_Coon', displayName: 'Maine Coon', species: 'cat', size: 'large', traits: 'Gentle giant with a shaggy coat, sociable and good with children and dogs', fitsAudience: 'families who want a big, friendly cat' },
  { name: 'Persian', displayName: 'Persian', species: 'cat', size: 'medium', traits: 'Luxurious long coat, quiet, calm and happiest indoors', fitsAudience: 'calm indoor lifestyles and lovers of elegant, glamorous cats' },
  { name: 'Ragdoll', displayName: 'Ragdoll', species: 'cat', size: 'large', traits: 'Docile, cuddly lap cat with blue eyes, relaxed and patient with kids', fitsAudience: 'families and cat lovers who want a cuddly indoor companion' },
  { name: 'Russian_Blue', displayName: 'Russian Blue', species: 'cat', size: 'medium', traits: 'Quiet, gentle and low-shedding, with a shimmering silver-blue coat', fitsAudience: 'quiet apartments and allergy-conscious cat owners' },
  { name: 'Siamese', displayName: 'Siamese', species: 'cat', size: 'medium', traits: 'Slender, elegant and talkative, very social and attention-loving', fitsAudience: 'people who want a chatty, affectionate companion cat' },
  { name: 'Sphynx', displayName: 'Sphynx', species: 'cat', size: 'medium', traits: 'Hairless, warm to the touch, cuddly and attention-loving indoor cat', fitsAudience: 'owners who want a unique, low-shedding and cuddly cat', aliases: ['sphinx', 'hairless cat'] },
  // dogs
  { name: 'american_bulldog', displayName: 'American bulldog', species: 'dog', size: 'large', traits: 'Strong, athletic and loyal, a protective family guardian', fitsAudience: 'active families with a yard who want a loyal protector' },
  { name: 'american_pit_bull_terrier', displayName: 'American pit bull terrier', species: 'dog', size: 'medium', traits: 'Muscular, energetic and eager to please, affectionate with people', fitsAudience: 'active dog owners who enjoy sports and training', aliases: ['pit bull', 'pitbull', 'pittie'] },
  { name: 'basset_hound', displayName: 'Basset hound', species: 'dog', size: 'medium', traits: 'Laid-back and low-energy, with droopy ears and a superb nose', fitsAudience: 'relaxed families who prefer slow strolls to runs', aliases: ['basset'] },
  { name: 'beagle', displayName: 'Beagle', species: 'dog', size: 'small', traits: 'Merry, curious and friendly, good with kids and loves sniffing walks', fitsAudience: 'families with children who enjoy daily walks' },
  { name: 'boxer', displayName: 'Boxer', species: 'dog', size: 'large', traits: 'Playful, energetic and patient with children', fitsAudience: 'active families who want a fun-loving dog' },
  { name: 'chihuahua', displayName: 'Chihuahua', species: 'dog', size: 'toy', traits: 'Tiny, bold and portable, perfectly happy in a small apartment', fitsAudience: 'city dwellers and singles in small apartments' },
  { name: 'english_cocker_spaniel', displayName: 'English cocker spaniel', species: 'dog', size: 'medium', traits: 'Cheerful, gentle and sporty, loves country walks', fitsAudience: 'families who enjoy weekends in the countryside', aliases: ['cocker spaniel', 'cocker'] },
  { name: 'english_setter', displayName: 'English setter', species: 'dog', size: 'large', traits: 'Elegant feathered coat, gentle and energetic in open fields', fitsAudience: 'outdoorsy owners with space in the countryside', aliases: ['setter'] },
  { name: 'german_shorthaired', displayName: 'German shorthaired pointer', species: 'dog', size: 'large', traits: 'Energetic, outdoorsy and great on long hikes and runs', fitsAudience: 'outdoor-loving dog owners, hikers and runners', aliases: ['german shorthaired', 'gsp', 'pointer'] },
  { name: 'great_pyrenees', displayName: 'Great Pyrenees', species: 'dog', size: 'giant', traits: 'Calm, fluffy white mountain guardian, patient and protective', fitsAudience: 'rural homes and families with plenty of space', aliases: ['pyrenean mountain dog', 'pyrenees'] },
  { name: 'havanese', displayName: 'Havanese', species: 'dog', size: 'small', traits: 'Cheerful, adaptable companion with a low-shedding silky coat', fitsAudience: 'city families and seniors in apartments' },
  { name: 'japanese_chin', displayName: 'Japanese chin', species: 'dog', size: 'toy', traits: 'Elegant, quiet and cat-like, a calm lap dog', fitsAudience: 'calm apartment dwellers and seniors' },
  { name: 'keeshond', displayName: 'Keeshond', species: 'dog', size: 'medium', traits: 'Fluffy, friendly and smiling, a devoted family companion', fitsAudience: 'families who want a sociable, fluffy dog' },
  { name: 'leonberger', displayName: 'Leonberger', species: 'dog', size: 'giant', traits: 'Gentle giant with a lion-like mane who loves water and swimming', fitsAudience: 'outdoorsy families with a big home and garden' },
  { name: 'miniature_pinscher', displayName: 'Miniature pinscher', species: 'dog', size: 'toy', traits: 'Fearless, lively and energetic in a tiny package', fitsAudience: 'energetic city dwellers in small homes', aliases: ['min pin', 'minpin', 'zwergpinscher'] },
  { name: 'newfoundland', displayName: 'Newfoundland', species: 'dog', size: 'giant', traits: 'Sweet-natured water rescue dog, great with kids and loves swimming', fitsAudience: 'families living near lakes and the sea', aliases: ['newfie'] },
  { name: 'pomeranian', displayName: 'Pomeranian', species: 'dog', size: 'toy', traits: 'Fluffy, lively and bold, an apartment-friendly toy dog', fitsAudience: 'style-conscious city dwellers in apartments', aliases: ['pom'] },
  { name: 'pug', displayName: 'Pug', species: 'dog', size: 'small', traits: 'Charming, comical and low-exercise, happy on the couch', fitsAudience: 'city dwellers and homebodies in apartments' },
  { name: 'saint_bernard', displayName: 'Saint Bernard', species: 'dog', size: 'giant', traits: 'Gentle, patient mountain rescue dog who loves snow', fitsAudience: 'families with space who love winter and the mountains', aliases: ['st bernard', 'st. bernard'] },
  { name: 'samoyed', displayName: 'Samoyed', species: 'dog', size: 'large', traits: 'Fluffy white smiling dog, friendly, energetic and loves the cold', fitsAudience: 'active families and winter-sports lovers', aliases: ['sammy'] },
  { name: 'scottish_terrier', displayName: 'Scottish terrier', species: 'dog', size: 'small', traits: 'Dignified, independent and confident, with a wiry coat', fitsAudience: 'confident owners in the city or the country', aliases: ['scottie', 'scotty'] },
  { name: 'shiba_inu', displayName: 'Shiba inu', species: 'dog', size: 'small', traits: 'Fox-like, alert, clean and independent', fitsAudience: 'urban minimalists who want a self-reliant dog', aliases: ['shiba'] },
  { name: 'staffordshire_bull_terrier', displayName: 'Staffordshire bull terrier', species: 'dog', size: 'medium', traits: 'Muscular yet affectionate, energetic and great with children', fitsAudience: 'active families who want a loving, sturdy dog', aliases: ['staffy', 'staffie', 'staffordshire terrier'] },
  { name: 'wheaten_terrier', displayName: 'Soft-coated wheaten terrier', species: 'dog', size: 'medium', traits: 'Joyful and bouncy, with a soft, low-shedding coat', fitsAudience: 'families and allergy-conscious dog owners', aliases: ['wheaten', 'soft coated wheaten terrier', 'wheatie'] },
  { name: 'yorkshire_terrier', displayName: 'Yorkshire terrier', species: 'dog', size: 'toy', traits: 'Glamorous silky coat, feisty and apartment-friendly', fitsAudience: 'fashion-forward city dwellers in apartments', aliases: ['yorkie'] },
];

/** The text the segment is compared with: species and size spelled out so a sentence encoder sees them. */
export function describeSubject(subject: CatalogueSubject): string {
  return `${subject.displayName}: a ${subject.size} ${subject.species} breed. ${subject.traits}. Fits ${subject.fitsAudience}.`;
}

/** The one-line reason shown to the marketer, e.g. "Energetic, outdoorsy and great on long hikes — fits outdoor-loving dog owners." */
export function reasonFor(subject: CatalogueSubject): string {
  return `${subject.traits} — fits ${subject.fitsAudience}.`;
}
