/** The built-in training text of the language-model panel (written for nabla; a few KB, no network needed). */
export const SAMPLE_TEXT = `The river ran past the mill and under the old stone bridge. In the morning the miller opened the doors, and the wheel began to turn. The water was cold and clear, and the fish rose to the light.
The children came down to the bank to watch the wheel. They counted the boards as they went round: one, two, three, four, and back to one again. The miller laughed and told them that the wheel had turned like this for a hundred years.
At noon the sun stood over the hill and the shadows grew short. The baker brought bread to the mill, and the miller gave him flour in return. They sat on the bench by the door and spoke of the weather, of the harvest, and of the market in the town.
In the afternoon a wind came up from the west. The clouds gathered over the hill, and the first drops of rain fell on the water. The children ran home across the field, and the miller closed the doors of the mill.
The rain fell all evening. The river rose and ran fast under the bridge, and the wheel turned faster than before. The miller sat by the fire and listened to the water and the wind.
When the night was over the sky was clear again. The grass was wet and bright, and the birds sang in the trees by the river. The miller opened the doors, the wheel began to turn, and the day began again.
A model that reads this text one letter at a time first learns which letters are common, then which letters follow which, then short words such as the, and, of and to, and at last whole phrases: the miller opened the doors, the wheel began to turn.
The river ran past the mill. The wheel turned. The miller worked, the baker baked, and the children played by the water. The days went round like the wheel, one after another, and the river ran on to the sea.
`;
