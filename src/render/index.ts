export { projectionToImage, featureMapGrid, type RgbaImage } from './image.js';
export { drawImage, imageToTensorData } from './canvas.js';
