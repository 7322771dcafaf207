/**
 * A customer library that is not the demo's: products, places, food and people, with captions
 * and tags of our own (the images are made by the tests). Used by the "any library" end-to-end
 * and integration tests and by `scripts/calibrate-floor.js`.
 */
export interface LibraryPhoto {
  file: string;
  caption: string;
  tags: string[];
  /** an RGB colour for the generated image */
  rgb: [number, number, number];
}

const photos = (subject: string, category: string, rgb: [number, number, number], captions: string[]): LibraryPhoto[] =>
  captions.map((caption, i) => ({
    file: `${subject.replace(/ /g, '-')}-${i + 1}.jpg`,
    caption,
    tags: [subject, category],
    rgb: [Math.min(255, rgb[0] + i * 9), Math.max(0, rgb[1] - i * 7), Math.min(255, rgb[2] + i * 5)],
  }));

export const PRODUCT_LIBRARY: readonly LibraryPhoto[] = [
  ...photos(
    'running shoes',
    'sportswear',
    [200, 40, 40],
    [
      'Red running shoes on a wet city street at dawn',
      'Running shoes laced up on an athletics track',
      'Trail running shoes on a forest path',
      'Blue running shoes by the front door',
    ],
  ),
  ...photos(
    'camping tent',
    'outdoor gear',
    [230, 120, 30],
    ['A camping tent pitched by a mountain lake', 'An orange camping tent under the stars', 'A family camping tent in a pine forest'],
  ),
  ...photos(
    'hiking boots',
    'outdoor gear',
    [120, 80, 40],
    ['Hiking boots on a rocky mountain trail', 'Muddy hiking boots on a wooden porch', 'Leather hiking boots beside a backpack'],
  ),
  ...photos(
    'coffee mug',
    'kitchenware',
    [240, 230, 210],
    ['A coffee mug on a home-office desk beside a laptop', 'A steaming coffee mug by a rainy window', 'A coffee mug and a notebook on a kitchen table'],
  ),
  ...photos('espresso machine', 'kitchenware', [90, 90, 95], ['An espresso machine pouring a double shot', 'A chrome espresso machine in a bright kitchen']),
  ...photos(
    'acoustic guitar',
    'musical instruments',
    [170, 110, 60],
    ['An acoustic guitar leaning on a sofa', 'Someone playing an acoustic guitar at a campfire', 'An acoustic guitar on a stage under warm lights'],
  ),
  ...photos(
    'electric car',
    'cars',
    [240, 240, 245],
    ['An electric car charging in a suburban driveway', 'A white electric car on a coastal road', 'An electric car parked at a city charging station'],
  ),
  ...photos(
    'road bike',
    'bicycles',
    [30, 30, 30],
    ['A road bike leaning on a cafe wall', 'A cyclist on a road bike climbing a mountain pass', 'A carbon road bike in a bike shop'],
  ),
  ...photos(
    'pizza',
    'food',
    [220, 90, 40],
    ['A margherita pizza fresh from a wood-fired oven', 'Pizza slices shared at a family dinner table', 'A pepperoni pizza in a delivery box'],
  ),
  ...photos(
    'salad bowl',
    'food',
    [60, 180, 70],
    ['A salad bowl with avocado and quinoa', 'A salad bowl on a picnic blanket', 'A fresh salad bowl on an office desk at lunch'],
  ),
  ...photos(
    'beach resort',
    'travel',
    [40, 190, 200],
    ['A beach resort with palm trees and turquoise water', 'Sun loungers by a beach resort pool', 'A beach resort at sunset'],
  ),
  ...photos('city skyline', 'travel', [60, 70, 140], ['A city skyline at night from a rooftop bar', 'A city skyline over the river at dusk']),
  ...photos(
    'yoga mat',
    'fitness',
    [150, 60, 170],
    ['A woman stretching on a yoga mat in a sunny living room', 'A rolled yoga mat by a studio window', 'A yoga class on mats in a park'],
  ),
  ...photos(
    'baby stroller',
    'baby products',
    [200, 200, 120],
    ['A parent pushing a baby stroller through a park', 'A folded baby stroller in a hallway', 'A baby stroller on a city sidewalk'],
  ),
];

/** Segments we wrote, and the subjects (tags) that fit each. */
export const SEGMENTS: readonly { segment: string; fits: readonly string[] }[] = [
  { segment: 'busy moms who run before work', fits: ['running shoes', 'sportswear'] },
  { segment: 'weekend campers', fits: ['camping tent', 'outdoor gear', 'hiking boots'] },
  { segment: 'mountain hikers', fits: ['hiking boots', 'outdoor gear', 'camping tent'] },
  { segment: 'coffee lovers working from home', fits: ['coffee mug', 'espresso machine', 'kitchenware'] },
  { segment: 'home baristas', fits: ['espresso machine', 'coffee mug', 'kitchenware'] },
  { segment: 'weekend musicians', fits: ['acoustic guitar', 'musical instruments'] },
  { segment: 'drivers switching to electric', fits: ['electric car', 'cars'] },
  { segment: 'commuters who cycle to work', fits: ['road bike', 'bicycles', 'cyclist'] },
  { segment: 'cyclists training for a race', fits: ['road bike', 'bicycles', 'cyclist'] },
  { segment: 'families planning a pizza night', fits: ['pizza', 'food'] },
  { segment: 'health-conscious office workers at lunch', fits: ['salad bowl', 'food'] },
  { segment: 'couples dreaming of a tropical holiday', fits: ['beach resort', 'travel'] },
  { segment: 'yoga beginners', fits: ['yoga mat', 'fitness'] },
  { segment: 'new parents', fits: ['baby stroller', 'baby products'] },
];

/** Subjects this library does not have: nothing should clear the floor for them. */
export const ABSENT_SUBJECTS: readonly string[] = ['golden retriever', 'snowboard', 'wedding dress', 'grand piano'];
