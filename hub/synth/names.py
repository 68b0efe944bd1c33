"""Name and place lists for synthetic people: common in England, broad enough that chance collisions are rare."""

from __future__ import annotations


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


GIVEN_F = _words(
    "Olivia Amelia Isla Ava Ivy Freya Lily Florence Mia Willow Rosie Sophia Isabella Grace Daisy Sienna Poppy "
    "Elsie Emily Ella Evelyn Phoebe Sofia Evie Charlotte Harper Millie Matilda Maya Sophie Alice Emilia Isabelle "
    "Ruby Luna Maisie Aria Penelope Mila Bonnie Eva Hallie Eliza Ada Violet Esme Arabella Imogen Jessica Delilah "
    "Amara Aisha Zara Hannah Layla Nancy Robyn Thea Lottie Orla Lucy Erin Harriet Molly Scarlett Chloe Abigail "
    "Megan Holly Lexi Leah Iris Niamh Ellie Georgia Nia Maryam Fatima Khadija Zainab Hafsa Precious Chidera "
    "Tanisha Keira Courtney Jade Shannon Bethany Rebecca Kayleigh Amina Safiya Priya Anaya Saanvi Ananya Kiara "
    "Wiktoria Zuzanna Julia Maja Oliwia Aleksandra Bianca Ioana Elena Roxana Yasmin Hiba Noor Inaya Ayla Neve"
)
GIVEN_M = _words(
    "Noah Muhammad Oliver George Leo Arthur Oscar Theodore Freddie Archie Alfie Henry Charlie Finley Theo Jack "
    "Lucas Isaac Tommy Thomas Teddy Arlo Jacob Luca Albert Harry Ezra William Hudson Elijah Louie Reggie Max "
    "Roman Joshua Edward Ronnie Rory Hugo Mason Jude Sebastian Jaxon Ethan Ollie Alexander Benjamin Daniel "
    "Samuel James Joseph Adam Harrison Zachary Toby Dylan Riley Kai Caleb Jayden Tyler Callum Kieran Connor "
    "Liam Nathan Jamie Lewis Ryan Aaron Ibrahim Yusuf Omar Ali Hamza Zayn Ayaan Aarav Vihaan Arjun Rohan Kofi "
    "Kwame Chukwuemeka Tobenna Oluwaseun Jakub Kacper Szymon Filip Andrei Mihai Bogdan Matei Mateo Rafael "
    "Stanley Frankie Bobby Louis Felix Elliot Otis Milo Jenson Kayden Brandon Shane Declan Ciaran Eoin Cormac"
)
FAMILY = _words(
    "Smith Jones Taylor Brown Williams Wilson Johnson Davies Patel Robinson Wright Thompson Evans Walker White "
    "Roberts Green Hall Thomas Clarke Jackson Wood Harris Edwards Turner Martin Cooper Hill Ward Hughes Moore "
    "Clark King Harrison Lewis Baker Lee Allen Morris Khan Scott Watson Davis Parker James Bennett Young Phillips "
    "Richardson Mitchell Bailey Carter Cook Singh Shaw Bell Collins Morgan Kelly Begum Miller Cox Hussain Marshall "
    "Simpson Price Anderson Adams Wilkinson Ali Ahmed Foster Ellis Murphy Chapman Mason Gray Richards Webb Griffiths "
    "Hunt Palmer Campbell Holmes Mills Rogers Barnes Knight Matthews Barker Powell Stevens Kaur Fisher Butler Dixon "
    "Russell Harvey Pearson Graham Fletcher Howard Gill Ford Kennedy Lloyd Pearce Burton Lawrence Jenkins Dawson "
    "Okafor Mensah Adeyemi Nowak Kowalski Wisniewski Popescu Ionescu Mahmood Rahman Iqbal Akhtar Chaudhry Mirza "
    "Nguyen Tran Chen Wang Zhang Oconnor Obrien Byrne Gallagher Doherty Sutherland Macdonald Fraser Reid Ferguson "
    "Hamilton Armstrong Fox Rose Stone Hart Day Lamb Holland Burke Francis Gardner Newton Sharp Bates Walsh Hayes "
    "Atkinson Booth Barrett Hudson Payne Reynolds Lowe Riley Bradley Sanders Hargreaves Whitehead Ashworth Sykes "
    "Brennan Quinn Moran Gordon Wallace Stewart Hunter Duncan Cunningham Black Henderson Kerr Boyle Doyle Rowe "
    "Osei Boateng Asante Nwosu Eze Okoro Abubakar Yilmaz Demir Kaya Novak Horvat Petrov Ivanova Santos Silva Costa"
)
# Postcode districts of one synthetic region (West Yorkshire-like): districts and sector counts.
DISTRICTS = (
    tuple(f"LS{n}" for n in range(1, 30))
    + tuple(f"BD{n}" for n in range(1, 24))
    + tuple(f"WF{n}" for n in range(1, 18))
    + tuple(f"HD{n}" for n in range(1, 10))
    + tuple(f"HX{n}" for n in range(1, 8))
)
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
LA_CODES = ("383", "380", "384", "381", "382")  # Leeds, Bradford, Wakefield, Kirklees, Calderdale
