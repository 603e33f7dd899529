"""``python manage.py import_products``: one Actor run that imports the products of its input.

Input (``storage/key_value_stores/default/INPUT.json`` locally, the run input on the platform)::

    {"products": [{"name": "Tea", "price": 3.5}], "currency": "EUR"}
"""

from django.core.management.base import CommandError

from actorkit import actor
from actorkit.integrations.django import ActorCommand


class Command(ActorCommand):
    help = 'Import the products of the Actor input into the default dataset'

    def add_arguments(self, parser):
        parser.add_argument('--limit', type=int, default=None, help='import at most this many')

    def handle(self, *args, **options):
        data = actor.get_input() or {}
        products = data.get('products')
        if not isinstance(products, list):
            raise CommandError('the input has no "products" list', returncode=2)
        currency = data.get('currency', 'USD')
        products = products[: options['limit']] if options['limit'] else products
        for product in actor.progress(products, desc='Importing'):
            actor.push_data(
                {'name': product['name'], 'price': f'{product["price"]:.2f} {currency}'}
            )
        actor.set_value('SUMMARY', {'imported': len(products), 'currency': currency})
        self.stdout.write(f'imported {len(products)} products')
