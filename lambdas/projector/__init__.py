"""The projector: car-events from the FIFO queue into the car_entities read model, newest state wins."""
